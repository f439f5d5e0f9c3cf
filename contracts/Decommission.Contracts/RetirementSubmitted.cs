namespace Decommission.Contracts;

/// <summary>Answers a RetireDevice: the retirement that now handles the device, and whether it already existed.</summary>
public record RetirementSubmitted
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public bool AlreadyActive { get; init; }
    public string State { get; init; } = "";
}
