using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using MassTransit;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>Looks for another open retirement of the requested device, so a second request starts nothing.</summary>
public sealed class FindActiveRetirementActivity(OrchestratorDatabase database) : IStateMachineActivity<Retirement, RetireDevice>
{
    public async Task Execute(BehaviorContext<Retirement, RetireDevice> context, IBehavior<Retirement, RetireDevice> next)
    {
        var open = await RetirementQueries.OpenRetirementOfDevice(database, context.Message.DeviceId);
        context.Saga.OtherOpenRetirement = open is not null && open.Id != context.Saga.CorrelationId ? open : null;
        await next.Execute(context);
    }

    public Task Faulted<TException>(BehaviorExceptionContext<Retirement, RetireDevice, TException> context, IBehavior<Retirement, RetireDevice> next)
        where TException : Exception => next.Faulted(context);

    public void Probe(ProbeContext context) => context.CreateScope("find-active-retirement");

    public void Accept(StateMachineVisitor visitor) => visitor.Visit(this);
}
