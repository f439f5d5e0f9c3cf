using MassTransit;

namespace Decommission.Contracts;

/// <summary>The inventory confirmed the device may be retired and hands back its snapshot.</summary>
public record RetirementAccepted : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string DeviceId { get; init; } = "";
    public DeviceSnapshot Device { get; init; } = new();
}
