using MassTransit;

namespace Decommission.Contracts;

/// <summary>A wipe receipt failed verification; Reason names the check that failed.</summary>
public record ErasureRejected : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string DeviceId { get; init; } = "";
    public Guid CommandId { get; init; }
    /// <summary>The nonce of the command this verdict is about.</summary>
    public string Nonce { get; init; } = "";
    /// <summary>
    /// True when the verdict ends the erase: the device itself answered this command (signed by its own key) with a failure or
    /// a weak method, or the gateway refused the order. False for a receipt nobody can attribute to the device (forged,
    /// replayed, malformed): the retirement records it and keeps waiting for the device.
    /// </summary>
    public bool Conclusive { get; init; }
    public string Reason { get; init; } = "";
    public string Detail { get; init; } = "";
    public DateTimeOffset RejectedAt { get; init; }
}
