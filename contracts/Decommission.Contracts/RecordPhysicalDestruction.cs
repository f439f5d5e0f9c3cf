using MassTransit;

namespace Decommission.Contracts;

/// <summary>Records that a failed retirement's device was physically destroyed, so it can be certified with method Destroy.</summary>
public record RecordPhysicalDestruction : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public PhysicalDestruction Destruction { get; init; } = new();
    /// <summary>The witnessed destruction record the certificates service holds (two authenticated people); a Destroy certificate is issued only on it.</summary>
    public string DestructionRecordId { get; init; } = "";
}
