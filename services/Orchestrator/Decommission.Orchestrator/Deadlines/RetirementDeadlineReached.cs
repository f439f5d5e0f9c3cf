namespace Decommission.Orchestrator.Deadlines;

/// <summary>Raised by the deadline sweeper for a retirement whose stored deadline is due; internal to the orchestrator.</summary>
public record RetirementDeadlineReached
{
    public Guid RetirementId { get; init; }
    public DateTimeOffset Deadline { get; init; }
}
