using MassTransit;

namespace Decommission.Orchestrator.Deadlines;

/// <summary>Raised by the deadline sweeper for a retirement whose stored deadline is due; internal to the orchestrator.</summary>
public record RetirementDeadlineReached : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public DateTimeOffset Deadline { get; init; }
}
