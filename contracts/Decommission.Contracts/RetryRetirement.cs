using MassTransit;

namespace Decommission.Contracts;

/// <summary>Resumes a failed retirement from the step it failed in.</summary>
public record RetryRetirement : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string RequestedBy { get; init; } = "";
}
