namespace Decommission.Contracts;

/// <summary>A retirement's state, erase attempts, pending deadline and history.</summary>
public record RetirementStatus
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string State { get; init; } = "";
    public int EraseAttempts { get; init; }
    public DateTimeOffset? Deadline { get; init; }
    public string? FailureReason { get; init; }
    public string? FailureDetail { get; init; }
    public string? CertificateId { get; init; }
    public IReadOnlyList<AuditEntry> History { get; init; } = [];
}
