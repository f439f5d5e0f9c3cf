namespace Decommission.Contracts;

/// <summary>A wipe receipt failed verification; Reason names the check that failed.</summary>
public record ErasureRejected
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public Guid CommandId { get; init; }
    public string Reason { get; init; } = "";
    public string Detail { get; init; } = "";
    public DateTimeOffset RejectedAt { get; init; }
}
