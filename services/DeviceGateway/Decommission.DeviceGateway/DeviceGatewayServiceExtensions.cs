using Decommission.Outbox;
using Decommission.Contracts;
using Decommission.DeviceGateway.Channel;
using Decommission.DeviceGateway.Commands;
using Decommission.DeviceGateway.Receipts;
using Decommission.ServiceDefaults;
using Decommission.Storage;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.DeviceGateway;

public static class DeviceGatewayServiceExtensions
{
    /// <summary>Everything the device gateway owns: its database, the command-signing key, the AMQP device channel, receipt verification.</summary>
    public static IHostApplicationBuilder AddDeviceGatewayService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeviceGatewayOptions>().BindConfiguration(DeviceGatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddServiceDatabase<GatewayDatabase, DeviceGatewayOptions>(o => o.DatabasePath);
        builder.Services.AddOutbox<GatewayDatabase>();
        builder.Services.AddHostedService<GatewayStartup>();
        // A replica never makes a signing key of its own: with a shared database (replicas possible) the key must be given.
        builder.Services.AddSingleton(sp => new CommandSigningKey(sp.GetRequiredService<IOptions<DeviceGatewayOptions>>(),
            sp.GetRequiredService<ILogger<CommandSigningKey>>(), createWhenAbsent: sp.GetRequiredService<GatewayDatabase>().Dialect == SqlDialect.Sqlite));
        builder.Services.AddSingleton<FleetCa>();
        builder.Services.AddSingleton<EraseCommandStore>();
        builder.Services.AddSingleton<AttestationKeyStore>();
        builder.Services.AddSingleton<ErasePreconditionStore>();
        builder.Services.AddSingleton<ReceiptProcessor>();
        builder.Services.AddSingleton<RefusalProcessor>();
        builder.Services.AddSingleton<VerdictSender>();
        // A host that brings its own device channel (the all-in-one host's in-process fleet) registers it first.
        if (builder.Services.All(d => d.ServiceType != typeof(IDeviceChannel)))
        {
            // The device broker's nodes (a cluster) and whether its queues are quorum queues: the bus's own settings.
            builder.Services.AddOptions<BrokerClusterOptions>().BindConfiguration(BrokerClusterOptions.Section);
            builder.Services.AddSingleton<AmqpDeviceChannel>();
            builder.Services.AddSingleton<IDeviceChannel>(sp => sp.GetRequiredService<AmqpDeviceChannel>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<AmqpDeviceChannel>());
            builder.Services.AddHealthChecks().Add(new HealthCheckRegistration("device-channel",
                sp => sp.GetRequiredService<AmqpDeviceChannel>(), HealthStatus.Unhealthy, ["ready"]));
        }

        builder.AddBusRegistration(bus =>
        {
            // An order whose quarantine has not arrived yet waits for it a little; a refused order is never retried.
            bus.AddConsumer<EraseDeviceConsumer>().Endpoint(e => e.Name = QueueNames.EraseDevice);
            bus.AddConsumer<RegisterDeviceIdentitiesConsumer>(c => c.UseMessageRetry(r => r.Intervals(100, 500, 1000)))
                .Endpoint(e => e.Name = QueueNames.RegisterDeviceIdentities);
            bus.AddConsumer<ErasePreconditionsConsumer>().Endpoint(e => e.Name = QueueNames.DeviceGatewayEvents);
            // What they announce leaves through the outbox, after their commit.
            bus.UseOutboxOn<GatewayDatabase>(r =>
            {
                r.Handle<NotQuarantinedException>();
                // Replicas taking redeliveries of the same orders at once may deadlock on PostgreSQL: one batch yields, and retries.
                r.Handle<Npgsql.PostgresException>(e => e.IsTransient);
                // Usually the quarantine is a few milliseconds behind: look again soon first.
                r.Intervals(10, 50, 200, 500, 1000, 2000, 5000, 10000);
            }, QueueNames.EraseDevice);
            bus.UseOutboxOn<GatewayDatabase>(r => r.Intervals(100, 500, 1000), QueueNames.DeviceGatewayEvents);
        });
        return builder;
    }
}

/// <summary>Loads (or, on SQLite, creates) the signing key at start-up, so a bad or missing key stops the start.</summary>
internal sealed class GatewayStartup(CommandSigningKey signingKey) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = signingKey.KeyId;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
