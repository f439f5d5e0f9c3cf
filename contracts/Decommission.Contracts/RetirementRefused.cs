using MassTransit;

namespace Decommission.Contracts;

/// <summary>The inventory refused the retirement; Reason is one of <see cref="RefusalReasons"/>.</summary>
public record RetirementRefused : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string DeviceId { get; init; } = "";
    public string Reason { get; init; } = "";
    public string Detail { get; init; } = "";
}
