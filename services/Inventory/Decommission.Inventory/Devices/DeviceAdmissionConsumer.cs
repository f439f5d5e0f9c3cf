using Decommission.Contracts;
using MassTransit;

namespace Decommission.Inventory.Devices;

/// <summary>
/// The inventory's answer to a retirement request: admitted (the device is marked Retiring and its snapshot goes to the saga)
/// or refused with the reason <see cref="RetirementAdmission"/> gives.
/// </summary>
public sealed class DeviceAdmissionConsumer(DeviceStore devices, TimeProvider clock) : IConsumer<RetirementRequested>
{
    public Task Consume(ConsumeContext<RetirementRequested> context)
    {
        var request = context.Message;
        // The answer is sent with the admission, in its transaction (the outbox): an admitted device is never left unannounced.
        return devices.AdmitAsync(request.RetirementId, request.DeviceId,
            found => RetirementAdmission.Decide(request.DeviceId, request.RetirementId, found), clock.GetUtcNow(),
            outcome => outcome.Refusal is { } refusal
                ? context.Publish(new RetirementRefused { RetirementId = request.RetirementId, DeviceId = request.DeviceId, Reason = refusal.Reason, Detail = refusal.Detail })
                : context.Publish(new RetirementAccepted
                {
                    RetirementId = request.RetirementId,
                    DeviceId = request.DeviceId,
                    Device = new DeviceSnapshot
                    {
                        Manufacturer = outcome.Device!.Manufacturer, Model = outcome.Device.Model, SerialNumber = outcome.Device.SerialNumber,
                        AssetNumber = outcome.Device.AssetNumber, MediaType = outcome.Device.MediaType, Owner = outcome.Device.Owner, Site = outcome.Device.Site,
                    },
                }));
    }
}
