using System.Collections.Concurrent;
using System.Text.Json;
using Decommission.DeviceAgent;
using Decommission.DeviceGateway.Channel;
using Decommission.DeviceGateway.Receipts;
using Decommission.DeviceProtocol;

namespace Decommission.Host;

/// <summary>
/// The device channel inside one process: commands go straight to simulated devices and their receipts straight to the
/// gateway's receipt processor, with the same timing the AMQP fleet has (slow, offline until a time, silent).
/// </summary>
public sealed class InProcessDeviceFleet(IServiceProvider services, TimeProvider clock, ILogger<InProcessDeviceFleet> logger) : IDeviceChannel
{
    private readonly ConcurrentDictionary<string, SimulatedDevice> _devices = new();

    public IReadOnlyDictionary<string, SimulatedDevice> Devices => _devices;

    public void Add(SimulatedDevice device) => _devices[device.Id] = device;

    public Task SendAsync(EraseCommand command, DateTimeOffset deliverBy, CancellationToken cancellationToken)
    {
        if (_devices.TryGetValue(command.DeviceId, out var device))
            _ = Task.Run(() => DeliverAsync(device, command, deliverBy), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task PrepareDeviceAsync(string deviceId, CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task DeliverAsync(SimulatedDevice device, EraseCommand command, DateTimeOffset deliverBy)
    {
        try
        {
            switch (device.Behaviour)
            {
                case DeviceBehaviour.NeverAnswers:
                    return;
                case DeviceBehaviour.OfflineUntil when device.Spec.OfflineUntil is { } back && back > clock.GetUtcNow():
                    // The copy waits in the device's queue until it comes back, or expires first.
                    if (back >= deliverBy)
                        return;
                    await Task.Delay(back - clock.GetUtcNow(), clock);
                    break;
            }

            var receipt = device.Handle(command, clock.GetUtcNow());
            if (receipt is null)
                return;
            if (device.Behaviour == DeviceBehaviour.Slow)
                await Task.Delay(device.Spec.Delay ?? TimeSpan.FromSeconds(2), clock);
            await services.GetRequiredService<ReceiptProcessor>().ProcessAsync(JsonSerializer.SerializeToUtf8Bytes(receipt), CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Delivering command {CommandId} to {DeviceId} failed", command.CommandId, command.DeviceId);
        }
    }
}
