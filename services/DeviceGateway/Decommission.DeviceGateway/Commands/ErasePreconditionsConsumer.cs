using Decommission.Contracts;
using MassTransit;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// Keeps what the gateway must know before it erases anything, from the services that own it: which retirements the
/// credentials service quarantined, and which devices the inventory holds for legal reasons.
/// </summary>
public sealed class ErasePreconditionsConsumer(ErasePreconditionStore preconditions) : IConsumer<DeviceQuarantined>, IConsumer<DeviceLegalHoldChanged>
{
    public Task Consume(ConsumeContext<DeviceQuarantined> context) =>
        preconditions.RecordQuarantineAsync(context.Message.RetirementId, context.Message.DeviceId, context.Message.QuarantinedAt);

    public Task Consume(ConsumeContext<DeviceLegalHoldChanged> context) =>
        preconditions.RecordLegalHoldAsync(context.Message.DeviceId, context.Message.Held, context.Message.Reason, context.Message.ChangedBy,
            context.Message.ChangedAt);
}
