using Decommission.Orchestrator.Consumers;
using Decommission.Orchestrator.Deadlines;
using Decommission.Orchestrator.Persistence;
using Decommission.Orchestrator.StateMachines;
using Decommission.ServiceDefaults;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator;

public static class OrchestratorServiceExtensions
{
    /// <summary>Everything the orchestrator owns: its database, the retirement saga and its store, the deadline sweeper, status queries.</summary>
    public static IHostApplicationBuilder AddOrchestratorService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OrchestratorOptions>().BindConfiguration(OrchestratorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RetirementSettings>().BindConfiguration(RetirementSettings.Section).ValidateDataAnnotations().ValidateOnStart();

        builder.Services.AddSingleton(sp => new OrchestratorDatabase(sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.DatabasePath));
        builder.Services.AddSingleton<RetirementSagaStore>();
        builder.Services.AddSingleton<SendStepCommandActivity>();
        builder.Services.AddSingleton<FindActiveRetirementActivity>();
        // Registered before the bus, so the schema exists before the first message is consumed.
        builder.Services.AddHostedService<OrchestratorDatabaseMigrator>();
        builder.Services.AddSingleton<DeadlineSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeadlineSweeper>());
        builder.AddRetirementMetrics();

        builder.AddBusRegistration(bus =>
        {
            bus.AddSagaStateMachine<RetirementStateMachine, Retirement, RetirementSagaDefinition>().SqliteRepository();
            bus.AddConsumer<RetirementStatusConsumer, RetirementStatusConsumerDefinition>();
        });
        return builder;
    }
}

/// <summary>Applies the orchestrator's schema scripts at start-up.</summary>
internal sealed class OrchestratorDatabaseMigrator(OrchestratorDatabase database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
