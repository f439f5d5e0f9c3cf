namespace Decommission.Contracts;

/// <summary>A failed retirement was resumed in the step it had failed in.</summary>
public record RetirementRetried
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string RequestedBy { get; init; } = "";
    public string ResumedIn { get; init; } = "";
}
