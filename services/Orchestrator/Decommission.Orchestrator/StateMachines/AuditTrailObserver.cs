using Decommission.Contracts;
using Decommission.Orchestrator.Deadlines;
using MassTransit;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>Appends every transition to the retirement's audit trail; the saga store writes it with the state, in one transaction.</summary>
internal sealed class AuditTrailObserver(TimeProvider clock) : IStateObserver<Retirement>
{
    public Task StateChanged(BehaviorContext<Retirement> context, State currentState, State? previousState)
    {
        // Entering Initial is the instance being created; Finalize only drops a duplicate request before it is saved.
        if (currentState.Name is "Initial" or "Final")
            return Task.CompletedTask;

        context.Saga.PendingAudit.Add(new AuditEntry
        {
            At = clock.GetUtcNow(),
            FromState = previousState?.Name ?? "Initial",
            ToState = currentState.Name,
            Event = context.Event.Name,
            Actor = ActorOf(context),
            Detail = currentState.Name is RetirementStates.Failed or RetirementStates.Refused
                ? $"{context.Saga.FailureReason}: {context.Saga.FailureDetail}"
                : context.TryGetMessage<RetryRetirement>(out var retry) && !string.IsNullOrWhiteSpace(retry.Message.Reason)
                    ? $"retried: {retry.Message.Reason}"
                    : "",
        });
        return Task.CompletedTask;
    }

    /// <summary>Records something that happened without a change of state (another erase attempt, a re-sent command).</summary>
    public static void Record(BehaviorContext<Retirement> context, DateTimeOffset at, string detail) =>
        context.Saga.PendingAudit.Add(new AuditEntry
        {
            At = at,
            FromState = context.Saga.CurrentState,
            ToState = context.Saga.CurrentState,
            Event = context.Event.Name,
            Actor = ActorOf(context),
            Detail = detail,
        });

    private static string ActorOf(ConsumeContext context)
    {
        if (context.TryGetMessage<RetireDevice>(out var retire)) return retire.Message.RequestedBy;
        if (context.TryGetMessage<CancelRetirement>(out var cancel)) return cancel.Message.RequestedBy;
        if (context.TryGetMessage<RetryRetirement>(out var retry)) return retry.Message.RequestedBy;
        if (context.TryGetMessage<RecordPhysicalDestruction>(out var destroy))
            return $"{destroy.Message.Destruction.PerformedBy} (witness: {destroy.Message.Destruction.Witness})";
        if (context.TryGetMessage<RetirementAccepted>(out _) || context.TryGetMessage<RetirementRefused>(out _)) return "inventory";
        if (context.TryGetMessage<DeviceQuarantined>(out _) || context.TryGetMessage<QuarantineRefused>(out _) || context.TryGetMessage<IdentityRevoked>(out _))
            return "credentials";
        if (context.TryGetMessage<ErasureVerified>(out _) || context.TryGetMessage<ErasureRejected>(out _)) return "device-gateway";
        if (context.TryGetMessage<DisposalCertificateIssued>(out _)) return "certificates";
        if (context.TryGetMessage<RetirementDeadlineReached>(out _)) return "orchestrator (deadline)";
        return "orchestrator";
    }
}
