using System.Text.Json.Serialization;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>One retirement of one device: the saga's persisted state.</summary>
public class Retirement : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }
    public string CurrentState { get; set; } = "";
    public int Version { get; set; }

    public string DeviceId { get; set; } = "";
    public string Reason { get; set; } = "";
    public string RequestedBy { get; set; } = "";
    public DateTimeOffset RequestedAt { get; set; }
    public DeviceSnapshot? Device { get; set; }

    public List<RevokedCredential> RevokedCredentials { get; set; } = [];
    public string? NetworkSegment { get; set; }

    public Guid? EraseCommandId { get; set; }
    /// <summary>The nonce of the current erase command: only an answer carrying it (and the command id) is believed.</summary>
    public string? EraseNonce { get; set; }
    /// <summary>The last receipt rejected without ending the erase (not attributable to the device); the reason if the erase times out.</summary>
    public string? LastRejectionReason { get; set; }
    public string? LastRejectionDetail { get; set; }
    public int EraseAttempts { get; set; }
    public DateTimeOffset? EraseSentAt { get; set; }
    public DateTimeOffset? EraseExpiresAt { get; set; }
    public ErasureEvidence? Evidence { get; set; }
    public PhysicalDestruction? Destruction { get; set; }
    public string? SanitizationType { get; set; }
    public string? IdentityCertificateSerial { get; set; }
    public string? CertificateId { get; set; }

    public string? FailureReason { get; set; }
    public string? FailureDetail { get; set; }
    public string? FailedIn { get; set; }

    /// <summary>When the current step stops waiting: the sweeper raises RetirementDeadlineReached at this time.</summary>
    public DateTimeOffset? Deadline { get; set; }
    /// <summary>How often the current step's command has been re-sent.</summary>
    public int Redrives { get; set; }
    /// <summary>When the retirement entered its current state (for the step-duration metric).</summary>
    public DateTimeOffset? StepStartedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Another active retirement of the same device, found when this one was asked for; never persisted.</summary>
    [JsonIgnore]
    public Persistence.OpenRetirement? OtherOpenRetirement { get; set; }

    /// <summary>Audit entries written with the next save, in the same transaction.</summary>
    [JsonIgnore]
    public List<AuditEntry> PendingAudit { get; } = [];
}
