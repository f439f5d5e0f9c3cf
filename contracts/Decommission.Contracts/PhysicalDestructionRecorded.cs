namespace Decommission.Contracts;

/// <summary>A physical destruction was recorded against a retirement.</summary>
public record PhysicalDestructionRecorded
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public PhysicalDestruction Destruction { get; init; } = new();
}
