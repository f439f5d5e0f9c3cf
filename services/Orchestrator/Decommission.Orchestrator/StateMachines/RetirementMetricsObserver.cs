using Decommission.Contracts;
using MassTransit;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>Feeds <see cref="RetirementMetrics"/> from the machine's transitions: opened, completed, failed, and each step's duration.</summary>
internal sealed class RetirementMetricsObserver(RetirementMetrics metrics, TimeProvider clock) : IStateObserver<Retirement>
{
    private static readonly HashSet<string> Steps =
    [
        RetirementStates.Requested, RetirementStates.Quarantining, RetirementStates.Erasing, RetirementStates.RevokingIdentity, RetirementStates.Certifying,
    ];

    public Task StateChanged(BehaviorContext<Retirement> context, State currentState, State? previousState)
    {
        // Entering Initial is the instance being created; Final only drops a duplicate request.
        if (currentState.Name is "Initial" or "Final")
            return Task.CompletedTask;

        var saga = context.Saga;
        var now = clock.GetUtcNow();
        var from = previousState?.Name ?? "Initial";
        if (Steps.Contains(from) && saga.StepStartedAt is { } since)
            metrics.StepFinished(from, currentState.Name, now - since);
        saga.StepStartedAt = now;

        switch (currentState.Name)
        {
            case RetirementStates.Requested when from == "Initial":
                metrics.Started();
                break;
            case RetirementStates.Completed:
                metrics.Completed();
                break;
            case RetirementStates.Failed or RetirementStates.Refused:
                metrics.Failed(saga.FailureReason ?? "", saga.FailedIn ?? from);
                break;
        }
        return Task.CompletedTask;
    }
}
