using Decommission.Contracts;
using MassTransit;

namespace Decommission.Inventory.Devices;

/// <summary>
/// The inventory's answer to a retirement request: admitted (the device is marked Retiring and its snapshot goes to the saga)
/// or refused with the reason <see cref="RetirementAdmission"/> gives.
/// </summary>
public sealed class DeviceAdmissionConsumer(DeviceStore devices, TimeProvider clock) : IConsumer<RetirementRequested>
{
    public async Task Consume(ConsumeContext<RetirementRequested> context)
    {
        var request = context.Message;
        var (device, refusal) = await devices.AdmitAsync(request.RetirementId, request.DeviceId,
            found => RetirementAdmission.Decide(request.DeviceId, request.RetirementId, found), clock.GetUtcNow());
        if (refusal is not null)
        {
            await context.Publish(new RetirementRefused { RetirementId = request.RetirementId, DeviceId = request.DeviceId, Reason = refusal.Reason, Detail = refusal.Detail });
            return;
        }

        await context.Publish(new RetirementAccepted
        {
            RetirementId = request.RetirementId,
            DeviceId = request.DeviceId,
            Device = new DeviceSnapshot
            {
                Manufacturer = device!.Manufacturer, Model = device.Model, SerialNumber = device.SerialNumber, AssetNumber = device.AssetNumber,
                MediaType = device.MediaType, Owner = device.Owner, Site = device.Site,
            },
        });
    }
}
