namespace Decommission.Contracts;

/// <summary>Records that a failed retirement's device was physically destroyed, so it can be certified with method Destroy.</summary>
public record RecordPhysicalDestruction
{
    public Guid RetirementId { get; init; }
    public PhysicalDestruction Destruction { get; init; } = new();
}
