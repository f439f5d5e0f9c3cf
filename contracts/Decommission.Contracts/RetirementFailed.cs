namespace Decommission.Contracts;

/// <summary>The retirement stopped with a reason an operator can act on (retry, or record physical destruction).</summary>
public record RetirementFailed
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string Reason { get; init; } = "";
    public string Detail { get; init; } = "";
    public string FailedIn { get; init; } = "";
    public DateTimeOffset FailedAt { get; init; }
}
