using Decommission.Orchestrator.Persistence;
using Decommission.Outbox;
using Decommission.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>
/// The saga's endpoint: queue retire-device, retries (lost optimistic updates included), one message per retirement at a
/// time, and the transactional outbox: what a transition sends is written with the saga's row and leaves after the commit.
/// </summary>
public sealed class RetirementSagaDefinition : SagaDefinition<Retirement>
{
    public RetirementSagaDefinition(IOptions<OrchestratorOptions> options)
    {
        EndpointName = QueueNames.RetireDevice;
        ConcurrentMessageLimit = options.Value.ConcurrentMessageLimit;
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<Retirement> sagaConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Ignore<InvalidRetirementRequestException>();
            r.Ignore<Decommission.ServiceDefaults.UnverifiedSenderException>();
            r.Intervals(10, 50, 100, 250, 500, 1000, 2000);
        });
        var partition = endpointConfigurator.CreatePartitioner(Math.Max(1, ConcurrentMessageLimit ?? 1));
        sagaConfigurator.Message<RetireDevice>(x =>
        {
            // Before the saga, so the _error queue shows the validation message itself.
            x.UseExecute(context => RetireDeviceValidation.EnsureValid(context.Message));
            x.UsePartitioner(partition, m => RetirementIds.For(m));
        });
        sagaConfigurator.ConnectSagaConfigurationObserver(new PartitionByRetirement(sagaConfigurator, partition));
        // Inside the retry, as MassTransit's outboxes go: each attempt captures its own sends.
        endpointConfigurator.UseOutbox<OrchestratorDatabase>(context);
    }

    /// <summary>Every other message the saga takes names its retirement (CorrelatedBy&lt;Guid&gt;): it waits for that retirement's previous one.</summary>
    private sealed class PartitionByRetirement(ISagaConfigurator<Retirement> saga, IPartitioner partition) : ISagaConfigurationObserver
    {
        public void SagaMessageConfigured<TSaga, TMessage>(ISagaMessageConfigurator<TSaga, TMessage> configurator)
            where TSaga : class, ISaga where TMessage : class
        {
            if (typeof(CorrelatedBy<Guid>).IsAssignableFrom(typeof(TMessage)))
                saga.Message<TMessage>(x => x.UsePartitioner(partition, m => ((CorrelatedBy<Guid>)m.Message).CorrelationId));
        }

        public void SagaConfigured<TSaga>(ISagaConfigurator<TSaga> configurator)
            where TSaga : class, ISaga
        {
        }

        public void StateMachineSagaConfigured<TInstance>(ISagaConfigurator<TInstance> configurator, SagaStateMachine<TInstance> stateMachine)
            where TInstance : class, ISaga, SagaStateMachineInstance
        {
        }
    }
}
