using Decommission.Contracts;
using Decommission.Inventory.Devices;
using Decommission.Inventory.EndOfLife;
using Decommission.ServiceDefaults;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Decommission.Inventory;

public static class InventoryServiceExtensions
{
    /// <summary>Everything the inventory owns: devices, legal holds, the retirement confirmation and the end-of-life scheduler.</summary>
    public static IHostApplicationBuilder AddInventoryService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<InventoryOptions>().BindConfiguration(InventoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => new InventoryDatabase(sp.GetRequiredService<IOptions<InventoryOptions>>().Value.DatabasePath));
        builder.Services.AddSingleton<DeviceStore>();
        builder.Services.AddSingleton<DeviceImport>();
        builder.Services.AddHostedService<InventoryDatabaseMigrator>();
        builder.Services.AddSingleton<EndOfLifeScheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EndOfLifeScheduler>());

        builder.AddBusRegistration(bus =>
        {
            bus.AddConsumer<InventoryRequestsConsumer>().Endpoint(e => e.Name = QueueNames.Inventory);
            // Admission and the status that follows it share one queue (the catalogue's inventory-retirements).
            bus.AddConsumer<DeviceAdmissionConsumer>(c => c.UseMessageRetry(r => r.Intervals(50, 200, 1000))).Endpoint(e => e.Name = QueueNames.InventoryRetirements);
            bus.AddConsumer<DeviceStatusConsumer>(c => c.UseMessageRetry(r => r.Intervals(50, 200, 1000))).Endpoint(e => e.Name = QueueNames.InventoryRetirements);
        });
        return builder;
    }
}

/// <summary>Applies the inventory's schema scripts at start-up.</summary>
internal sealed class InventoryDatabaseMigrator(InventoryDatabase database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
