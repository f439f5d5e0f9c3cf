using Decommission.Storage;
using MassTransit;
using MassTransit.Configuration;
using MassTransit.Middleware;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Outbox;

public static class OutboxExtensions
{
    /// <summary>
    /// The transactional outbox of a service's file: its tables at start-up (after the file's own schema: call this after
    /// AddServiceDatabase), MassTransit's hook, and the backstop that delivers what was left behind.
    /// </summary>
    public static IServiceCollection AddOutbox<TDatabase>(this IServiceCollection services)
        where TDatabase : ServiceDatabase
    {
        services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section);
        services.AddSingleton<OutboxStore<TDatabase>>();
        services.AddScoped<IOutboxContextFactory<TDatabase>, StoreOutboxContextFactory<TDatabase>>();
        services.AddHostedService<OutboxSchema<TDatabase>>();
        services.AddSingleton<OutboxDelivery<TDatabase>>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxDelivery<TDatabase>>());
        return services;
    }

    /// <summary>
    /// The endpoints named consume through the outbox of <typeparamref name="TDatabase"/>, behind an endpoint-wide retry (so
    /// each attempt captures its own sends): for consumers, whose endpoints have no definition of their own.
    /// </summary>
    public static void UseOutboxOn<TDatabase>(this IBusRegistrationConfigurator bus, Action<IRetryConfigurator> retry, params string[] endpoints)
        where TDatabase : ServiceDatabase
    {
        bus.AddConfigureEndpointsCallback((context, name, endpoint) =>
        {
            if (!endpoints.Contains(name))
                return;
            endpoint.UseMessageRetry(retry);
            endpoint.UseOutbox<TDatabase>(context);
        });
    }

    /// <summary>
    /// Every consumer and saga of this endpoint consumes through the outbox of <typeparamref name="TDatabase"/>: what it sends
    /// leaves after its state change is committed, and goes with it; a redelivery of a consumed message delivers what it sent
    /// instead of consuming it again. Configure it after the endpoint's retry, like MassTransit's own outboxes.
    /// </summary>
    public static void UseOutbox<TDatabase>(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context)
        where TDatabase : ServiceDatabase
    {
        var observer = new OutboxConsumePipeSpecificationObserver<TDatabase>(endpoint, context)
        {
            // Everything one consume sent, in one pass: MassTransit loops without end when a pass is given exactly its limit.
            MessageDeliveryLimit = int.MaxValue,
        };
        endpoint.ConnectConsumerConfigurationObserver(observer);
        endpoint.ConnectSagaConfigurationObserver(observer);
    }
}

/// <summary>Creates the outbox's tables in the service's database (its engine's script) when the host starts.</summary>
internal sealed class OutboxSchema<TDatabase>(TDatabase database) : Microsoft.Extensions.Hosting.IHostedService
    where TDatabase : ServiceDatabase
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var stream = typeof(OutboxSchema<>).Assembly.GetManifestResourceStream($"Decommission.Outbox.outbox.{database.Dialect}.sql")!;
        using var reader = new StreamReader(stream);
        var sql = await reader.ReadToEndAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
