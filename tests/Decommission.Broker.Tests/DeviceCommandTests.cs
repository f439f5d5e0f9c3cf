namespace Decommission.Broker.Tests;

/// <summary>A device with its own certificate and broker identity gets its commands over MQTT+TLS, QoS 1, online or not.</summary>
public sealed class DeviceCommandTests
{
    private readonly DeviceBroker _broker = new();

    [Fact]
    public async Task A_device_receives_its_own_command_while_connected()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        await using var device = new Mosquitto(_broker).StartSubscriber(identity, $"devices/{id}/commands", count: 1);
        await device.WaitForLineAsync("Subscribed (mid: 1): 1", Mosquitto.Patience);

        var command = $"{{\"erase\":\"{Guid.NewGuid():N}\"}}";
        await _broker.PublishCommandAsync(id, command);

        Assert.Equal(0, await device.WaitForExitAsync(Mosquitto.Patience));
        Assert.Contains(command, device.Output, StringComparison.Ordinal);
        // Delivered with QoS 1: the device acknowledges it, and the broker keeps it until then.
        Assert.Contains($"received PUBLISH (d0, q1, r0, m1, 'devices/{id}/commands'", device.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_sent_while_the_device_is_offline_is_delivered_when_it_reconnects()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        var mosquitto = new Mosquitto(_broker);
        var subscribed = await mosquitto.SubscribeAndLeaveAsync(identity, id, $"devices/{id}/commands");
        Assert.True(subscribed.ExitCode == 0, subscribed.Output + subscribed.Error);

        var command = $"{{\"erase\":\"{Guid.NewGuid():N}\"}}";
        await _broker.PublishCommandAsync(id, command);

        var received = await mosquitto.ReceiveAsync(identity, $"devices/{id}/commands", count: 1, seconds: 15);
        Assert.True(received.ExitCode == 0, received.Output + received.Error);
        Assert.Contains(command, received.Output, StringComparison.Ordinal);
    }
}
