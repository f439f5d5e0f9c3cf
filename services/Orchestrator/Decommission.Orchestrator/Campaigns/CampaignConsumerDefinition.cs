using Decommission.Contracts;
using MassTransit;

namespace Decommission.Orchestrator.Campaigns;

/// <summary>Campaign orders and queries have their own queue: the certificates service's relay is its only sender.</summary>
public sealed class CampaignConsumerDefinition : ConsumerDefinition<CampaignConsumer>
{
    public CampaignConsumerDefinition() => EndpointName = QueueNames.Campaigns;
}
