using Decommission.Contracts;
using Decommission.Orchestrator.Deadlines;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>The saga's endpoint: queue retire-device, retries (lost optimistic updates included), in-memory outbox, one message per retirement at a time.</summary>
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
        endpointConfigurator.UseInMemoryOutbox(context);

        var partition = endpointConfigurator.CreatePartitioner(Math.Max(1, ConcurrentMessageLimit ?? 1));
        sagaConfigurator.Message<RetireDevice>(x =>
        {
            // Before the saga, so the _error queue shows the validation message itself.
            x.UseExecute(context => RetireDeviceValidation.EnsureValid(context.Message));
            x.UsePartitioner(partition, m => RetirementIds.For(m));
        });
        sagaConfigurator.Message<RetirementAccepted>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<RetirementRefused>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<DeviceQuarantined>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<QuarantineRefused>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<ErasureVerified>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<ErasureRejected>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<IdentityRevoked>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<DisposalCertificateIssued>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<DisposalCertificateRefused>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<RetirementDeadlineReached>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<CancelRetirement>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<RetryRetirement>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
        sagaConfigurator.Message<RecordPhysicalDestruction>(x => x.UsePartitioner(partition, m => m.Message.RetirementId));
    }
}
