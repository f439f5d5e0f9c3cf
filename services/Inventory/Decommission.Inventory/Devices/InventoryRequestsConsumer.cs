using Decommission.Contracts;
using Decommission.Inventory.EndOfLife;
using MassTransit;

namespace Decommission.Inventory.Devices;

/// <summary>Operators' requests to the inventory: import, legal hold, end-of-life preview, a campaign's selection.</summary>
public sealed class InventoryRequestsConsumer(DeviceStore devices, DeviceImport import, EndOfLifeScheduler scheduler, TimeProvider clock) :
    IConsumer<ImportDevices>, IConsumer<SetLegalHold>, IConsumer<PreviewEndOfLife>, IConsumer<SelectDevices>
{
    public async Task Consume(ConsumeContext<ImportDevices> context) =>
        await context.RespondAsync(await import.ImportAsync(context.Message.Csv, context.CancellationToken));

    public async Task Consume(ConsumeContext<SetLegalHold> context)
    {
        var request = context.Message;
        var now = clock.GetUtcNow();
        var changed = await devices.SetLegalHoldAsync(request.DeviceId, request.Hold, request.Hold ? $"{request.Reason} (by {request.RequestedBy})" : "", now,
            context.CancellationToken);
        // The device gateway follows holds too: a device held after its retirement was admitted is still never erased.
        if (changed)
            await context.Publish(new DeviceLegalHoldChanged
            {
                DeviceId = request.DeviceId, Held = request.Hold, Reason = request.Hold ? request.Reason : "", ChangedBy = request.RequestedBy, ChangedAt = now,
            });
        await context.RespondAsync(new LegalHoldSet
        {
            DeviceId = request.DeviceId, Found = changed, Hold = changed && request.Hold, Reason = request.Hold ? request.Reason : "",
        });
    }

    public async Task Consume(ConsumeContext<PreviewEndOfLife> context) =>
        await context.RespondAsync(await scheduler.PreviewAsync(context.Message.Days, Math.Clamp(context.Message.Limit, 1, 100_000), context.CancellationToken));

    public async Task Consume(ConsumeContext<SelectDevices> context) =>
        await context.RespondAsync(await devices.SelectAsync(context.Message.Selection ?? new DeviceSelection(), Math.Clamp(context.Message.Limit, 1, 100_000),
            context.CancellationToken));
}
