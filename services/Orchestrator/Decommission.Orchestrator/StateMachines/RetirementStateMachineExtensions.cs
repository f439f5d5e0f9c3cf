using Decommission.Contracts;
using MassTransit;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>The retirement's steps as the machine says them: each sends its step's order and sets the deadline for the answer.</summary>
public static class RetirementStateMachineExtensions
{
    public static EventActivityBinder<Retirement, T> RequestAdmission<T>(this EventActivityBinder<Retirement, T> binder)
        where T : class => binder.ThenAsync(context => Steps(context).RequestAdmission(context));

    public static EventActivityBinder<Retirement, T> OrderQuarantine<T>(this EventActivityBinder<Retirement, T> binder)
        where T : class => binder.ThenAsync(context => Steps(context).OrderQuarantine(context));

    public static EventActivityBinder<Retirement, T> OrderErase<T>(this EventActivityBinder<Retirement, T> binder)
        where T : class => binder.ThenAsync(context => Steps(context).OrderErase(context));

    public static EventActivityBinder<Retirement, T> OrderIdentityRevocation<T>(this EventActivityBinder<Retirement, T> binder)
        where T : class => binder.ThenAsync(context => Steps(context).OrderIdentityRevocation(context));

    public static EventActivityBinder<Retirement, T> OrderCertificate<T>(this EventActivityBinder<Retirement, T> binder)
        where T : class => binder.ThenAsync(context => Steps(context).OrderCertificate(context));

    /// <summary>Sends the order of the step the retirement waits in once more: the same order it sent on entering the step.</summary>
    public static EventActivityBinder<Retirement, T> RedriveStep<T>(this EventActivityBinder<Retirement, T> binder)
        where T : class => binder.ThenAsync(context => Redrive.TryGetValue(context.Saga.CurrentState, out var order)
            ? order(Steps(context), context)
            : throw new InvalidOperationException($"A retirement in {context.Saga.CurrentState} has no step to re-drive"));

    /// <summary>The steps that wait for another service, and the order each sends again when it has not answered in time
    /// (the erase paces its own attempts instead: the machine re-sends it until the command expires, then fails).</summary>
    private static readonly Dictionary<string, Func<RetirementSteps, BehaviorContext<Retirement>, Task>> Redrive = new()
    {
        [RetirementStates.Requested] = (steps, context) => steps.RequestAdmission(context),
        [RetirementStates.Quarantining] = (steps, context) => steps.OrderQuarantine(context),
        [RetirementStates.RevokingIdentity] = (steps, context) => steps.OrderIdentityRevocation(context),
        [RetirementStates.Certifying] = (steps, context) => steps.OrderCertificate(context),
    };

    private static RetirementSteps Steps(ConsumeContext context) => context.GetServiceOrCreateInstance<RetirementSteps>();
}
