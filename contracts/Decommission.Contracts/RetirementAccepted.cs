namespace Decommission.Contracts;

/// <summary>The inventory confirmed the device may be retired and hands back its snapshot.</summary>
public record RetirementAccepted
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public DeviceSnapshot Device { get; init; } = new();
}
