using Decommission.Contracts;
using MassTransit;

namespace Decommission.Orchestrator.Consumers;

/// <summary>Status queries have their own queue so they are answered while the saga queue is busy.</summary>
public sealed class RetirementStatusConsumerDefinition : ConsumerDefinition<RetirementStatusConsumer>
{
    public RetirementStatusConsumerDefinition() => EndpointName = QueueNames.RetirementStatus;
}
