using Decommission.Contracts;
using Decommission.Inventory.Devices;
using Decommission.Inventory.EndOfLife;
using Decommission.Outbox;
using Decommission.ServiceDefaults;
using Decommission.Storage;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Decommission.Inventory;

public static class InventoryServiceExtensions
{
    /// <summary>Everything the inventory owns: devices, legal holds, the retirement confirmation and the end-of-life scheduler.</summary>
    public static IHostApplicationBuilder AddInventoryService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<InventoryOptions>().BindConfiguration(InventoryOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // Registered before the bus and the scheduler, so the schema exists before either starts.
        builder.Services.AddServiceDatabase<InventoryDatabase, InventoryOptions>(o => o.DatabasePath);
        builder.Services.AddOutbox<InventoryDatabase>();
        builder.Services.AddSingleton<DeviceStore>();
        builder.Services.AddSingleton<DeviceImport>();
        builder.Services.AddSingleton<EndOfLifeScheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EndOfLifeScheduler>());

        builder.AddBusRegistration(bus =>
        {
            bus.AddConsumer<InventoryRequestsConsumer>().Endpoint(e => e.Name = QueueNames.Inventory);
            // Admission and the status that follows it share one queue (the catalogue's inventory-retirements).
            bus.AddConsumer<DeviceAdmissionConsumer>().Endpoint(e => e.Name = QueueNames.InventoryRetirements);
            bus.AddConsumer<DeviceStatusConsumer>().Endpoint(e => e.Name = QueueNames.InventoryRetirements);
            // What they send leaves after the device's row is committed, and with it.
            bus.UseOutboxOn<InventoryDatabase>(r => r.Intervals(50, 200, 1000), QueueNames.InventoryRetirements);
        });
        return builder;
    }
}
