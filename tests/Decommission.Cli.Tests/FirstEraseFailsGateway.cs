using System.Collections.Concurrent;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.Cli.Tests;

/// <summary>The gateway's verdicts for a device whose first wipe cannot be proved: its first erase order is rejected
/// conclusively (the device's own failed self-check), every later one verified.</summary>
public sealed class FirstEraseFailsGateway : IConsumer<EraseDevice>
{
    public const string Reason = "SelfCheckFailed";
    private static readonly ConcurrentDictionary<string, int> OrdersByDevice = new();

    public static int Orders(string deviceId) => OrdersByDevice.GetValueOrDefault(deviceId);

    public Task Consume(ConsumeContext<EraseDevice> context)
    {
        var order = context.Message;
        if (OrdersByDevice.AddOrUpdate(order.DeviceId, 1, (_, n) => n + 1) == 1)
            return context.Publish(new ErasureRejected
            {
                RetirementId = order.RetirementId, DeviceId = order.DeviceId, CommandId = order.CommandId, Nonce = order.Nonce,
                Conclusive = true, Reason = Reason, Detail = "the device could still decrypt its data", RejectedAt = DateTimeOffset.UtcNow,
            });
        return context.Publish(new ErasureVerified
        {
            RetirementId = order.RetirementId, DeviceId = order.DeviceId, CommandId = order.CommandId, Nonce = order.Nonce,
            VerifiedAt = DateTimeOffset.UtcNow,
            Evidence = new ErasureEvidence { Method = "CryptographicErase", DestroyedKeyIds = ["mk-1"], SelfCheckPassed = true, CompletedAt = DateTimeOffset.UtcNow },
        });
    }
}
