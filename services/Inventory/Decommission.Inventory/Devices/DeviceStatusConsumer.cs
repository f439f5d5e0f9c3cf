using Decommission.Contracts;
using MassTransit;

namespace Decommission.Inventory.Devices;

/// <summary>Follows an admitted retirement's events to keep the device's status: Disposed, Failed, back to Active, Retiring again.</summary>
public sealed class DeviceStatusConsumer(DeviceStore devices, TimeProvider clock) :
    IConsumer<DeviceDecommissioned>, IConsumer<RetirementFailed>, IConsumer<RetirementCancelled>, IConsumer<RetirementRetried>
{
    public Task Consume(ConsumeContext<DeviceDecommissioned> context) => SetStatus(context.Message.RetirementId, context.Message.DeviceId, DeviceStatuses.Disposed);

    // A refusal happens before the device was marked Retiring, so only failures after acceptance change the status.
    public Task Consume(ConsumeContext<RetirementFailed> context) =>
        context.Message.FailedIn == RetirementStates.Requested ? Task.CompletedTask : SetStatus(context.Message.RetirementId, context.Message.DeviceId, DeviceStatuses.Failed);

    public Task Consume(ConsumeContext<RetirementCancelled> context) => SetStatus(context.Message.RetirementId, context.Message.DeviceId, DeviceStatuses.Active);

    public Task Consume(ConsumeContext<RetirementRetried> context) => SetStatus(context.Message.RetirementId, context.Message.DeviceId, DeviceStatuses.Retiring);

    private Task SetStatus(Guid retirementId, string deviceId, string status) => devices.SetStatusAsync(retirementId, deviceId, status, clock.GetUtcNow());
}
