using MassTransit;

namespace Decommission.Contracts;

/// <summary>Cancels a retirement; accepted until the erase command has been sent.</summary>
public record CancelRetirement : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string RequestedBy { get; init; } = "";
    public string Reason { get; init; } = "";
}
