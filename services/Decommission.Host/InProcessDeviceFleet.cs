using System.Collections.Concurrent;
using System.Text.Json;
using Decommission.DeviceAgent;
using Decommission.DeviceGateway.Channel;
using Decommission.DeviceGateway.Receipts;
using Decommission.DeviceProtocol;

namespace Decommission.Host;

/// <summary>
/// The device channel inside one process: commands and verdicts go straight to simulated devices and their receipts (or
/// refusals) straight to the gateway's receipt processor, with the same timing the AMQP fleet has (slow, offline until a time, silent).
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

    /// <summary>The device takes the verdict at once: it is online, it has just answered.</summary>
    public Task SendVerdictAsync(string deviceId, string verdictId, byte[] signedVerdict, DateTimeOffset deliverBy, CancellationToken cancellationToken)
    {
        if (_devices.TryGetValue(deviceId, out var device) && clock.GetUtcNow() < deliverBy)
            device.Receive(signedVerdict, clock.GetUtcNow());
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

            // The command as the wire carries it; the answer (receipt or refusal) as the device sends it.
            var answer = device.Receive(JsonSerializer.SerializeToUtf8Bytes(command), clock.GetUtcNow());
            if (answer is null)
                return;
            if (device.Behaviour == DeviceBehaviour.Slow)
                await Task.Delay(device.Spec.Delay ?? TimeSpan.FromSeconds(2), clock);
            await services.GetRequiredService<ReceiptProcessor>().ProcessAsync(answer, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Delivering command {CommandId} to {DeviceId} failed", command.CommandId, command.DeviceId);
        }
    }
}
