namespace Decommission.Broker.Tests;

/// <summary>What a device, or something posing as one, is refused: other devices' topics, and any connect without a fleet certificate.</summary>
public sealed class DeviceRefusalTests
{
    private readonly DeviceBroker _broker = new();

    [Fact]
    public async Task A_device_cannot_subscribe_to_another_devices_commands_or_to_wildcards()
    {
        var id = DeviceIdentity.NewDeviceId();
        var other = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        await _broker.AddDeviceAsync(other);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        var mosquitto = new Mosquitto(_broker);

        foreach (var topic in new[] { $"devices/{other}/commands", "devices/+/commands", "#" })
        {
            var run = await mosquitto.TrySubscribeAsync(identity, id, topic, seconds: 3);
            var output = run.Output + run.Error;
            Assert.True(Mosquitto.Connected(output), $"{topic}: the device's certificate did not get it in:\n{output}");
            Assert.DoesNotContain("Subscribed (mid", output, StringComparison.Ordinal);
            // MQTT 3.1.1 on RabbitMQ 3.10 answers a refused subscription by closing the connection.
            Assert.True(Mosquitto.Connects(output) > 1, $"{topic}: the broker did not close the connection:\n{output}");
        }
    }

    [Fact]
    public async Task A_device_publishes_its_own_receipts_and_telemetry_and_nothing_else()
    {
        var id = DeviceIdentity.NewDeviceId();
        var other = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        var mosquitto = new Mosquitto(_broker);

        foreach (var topic in new[] { $"devices/{id}/receipts", $"devices/{id}/telemetry" })
        {
            var run = await mosquitto.PublishAsync(identity, topic, "{}");
            Assert.True(run.ExitCode == 0, $"{topic}:\n{run.Output}{run.Error}");
        }
        foreach (var topic in new[] { $"devices/{other}/receipts", $"devices/{id}/commands", $"devices/{other}/commands", "retire-device" })
        {
            var run = await mosquitto.PublishAsync(identity, topic, "{}");
            Assert.True(run.ExitCode != 0, $"{topic} was acknowledged:\n{run.Output}{run.Error}");
            Assert.DoesNotContain("received PUBACK", run.Output + run.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_client_without_a_certificate_is_refused()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        var mosquitto = new Mosquitto(_broker);
        var with = await mosquitto.SubscribeAndLeaveAsync(identity, id, $"devices/{id}/commands");
        Assert.True(with.ExitCode == 0, with.Output + with.Error);

        var without = await mosquitto.SubscribeAndLeaveAsync(null, id, $"devices/{id}/commands");

        Assert.NotEqual(0, without.ExitCode);
        Assert.False(Mosquitto.Connected(without.Output + without.Error), without.Output + without.Error);
    }

    [Fact]
    public async Task A_certificate_from_another_ca_is_refused_even_for_a_known_device()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        // Named as the fleet CA is: only its key differs.
        using var untrusted = DeviceIdentity.UntrustedCa(_broker.FleetCaCertificatePath);
        using var forged = DeviceIdentity.Issue(id, untrusted);

        var run = await new Mosquitto(_broker).SubscribeAndLeaveAsync(forged, id, $"devices/{id}/commands");

        Assert.NotEqual(0, run.ExitCode);
        Assert.False(Mosquitto.Connected(run.Output + run.Error), run.Output + run.Error);
    }
}
