using Decommission.Outbox;
using Decommission.Orchestrator.Campaigns;
using Decommission.Orchestrator.Consumers;
using Decommission.Orchestrator.Deadlines;
using Decommission.Orchestrator.Persistence;
using Decommission.Orchestrator.StateMachines;
using Decommission.ServiceDefaults;
using Decommission.Storage;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Decommission.Orchestrator;

public static class OrchestratorServiceExtensions
{
    /// <summary>Everything the orchestrator owns: its database and its outbox, the retirement saga and its store, the deadline sweeper, status queries, campaigns.</summary>
    public static IHostApplicationBuilder AddOrchestratorService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OrchestratorOptions>().BindConfiguration(OrchestratorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RetirementSettings>().BindConfiguration(RetirementSettings.Section).ValidateDataAnnotations().ValidateOnStart();

        // Registered before the bus and the sweeper, so the schema exists before the first message is consumed.
        builder.Services.AddServiceDatabase<OrchestratorDatabase, OrchestratorOptions>(o => o.DatabasePath);
        builder.Services.AddOutbox<OrchestratorDatabase>();
        builder.Services.AddSingleton<RetirementSagaStore>();
        builder.Services.AddSingleton<RetirementSteps>();
        builder.Services.AddSingleton<FindActiveRetirementActivity>();
        builder.Services.AddSingleton<DeadlineSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeadlineSweeper>());
        builder.Services.AddSingleton<CampaignStore>();
        builder.Services.AddSingleton<CampaignDriver>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CampaignDriver>());
        builder.AddRetirementMetrics();

        builder.AddBusRegistration(bus =>
        {
            bus.AddSagaStateMachine<RetirementStateMachine, Retirement, RetirementSagaDefinition>().StoreRepository();
            bus.AddConsumer<RetirementStatusConsumer, RetirementStatusConsumerDefinition>();
            bus.AddConsumer<CampaignConsumer, CampaignConsumerDefinition>();
        });
        return builder;
    }
}
