using MassTransit;

namespace Decommission.Contracts;

/// <summary>The credentials service could not quarantine the device (for example it has never been enrolled).</summary>
public record QuarantineRefused : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string DeviceId { get; init; } = "";
    public string Reason { get; init; } = "";
    public string Detail { get; init; } = "";
}
