using RabbitMQ.Client.Exceptions;
using Xunit.Abstractions;

namespace Decommission.Broker.Tests;

/// <summary>Revocation reaches the broker: by the CRL at the TLS handshake, and by removing the device's broker identity.</summary>
public sealed class DeviceRevocationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CutOffBound = TimeSpan.FromSeconds(5);

    private readonly DeviceBroker _broker = new();

    [Fact]
    public async Task A_device_whose_certificate_is_on_the_crl_is_refused_at_its_next_connect()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        var mosquitto = new Mosquitto(_broker);
        var before = await mosquitto.SubscribeAndLeaveAsync(identity, id, $"devices/{id}/commands");
        Assert.True(before.ExitCode == 0, before.Output + before.Error);

        await _broker.RevokeAsync(identity);

        var after = await mosquitto.SubscribeAndLeaveAsync(identity, id, $"devices/{id}/commands");
        Assert.NotEqual(0, after.ExitCode);
        Assert.False(Mosquitto.Connected(after.Output + after.Error), after.Output + after.Error);
    }

    [Fact]
    public async Task Removing_the_devices_broker_identity_closes_its_live_connection_and_refuses_it_after()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        var mosquitto = new Mosquitto(_broker);
        await using var device = mosquitto.StartSubscriber(identity, $"devices/{id}/commands");
        await device.WaitForLineAsync("Subscribed (mid: 1): 1", Mosquitto.Patience);

        var removing = device.Now;
        await _broker.RemoveDeviceAsync(id);

        // The client connects again as soon as it has lost its connection.
        var lost = await device.WaitForLineAsync("sending CONNECT", Mosquitto.Patience, occurrence: 2);
        output.WriteLine($"connection closed {(lost - removing).TotalSeconds:0.00} s after the removal began (the management API calls included)");
        Assert.True(lost - removing < CutOffBound, $"the live connection closed {(lost - removing).TotalSeconds:0.0} s after the removal began");
        Assert.Equal(1, Mosquitto.Occurrences(device.Output, "received CONNACK (0)"));

        var again = await mosquitto.SubscribeAndLeaveAsync(identity, id, $"devices/{id}/commands");
        Assert.NotEqual(0, again.ExitCode);
        Assert.False(Mosquitto.Connected(again.Output + again.Error), again.Output + again.Error);
        // Its session queue went too: a command for it is routed nowhere.
        await Assert.ThrowsAsync<PublishReturnException>(() => _broker.PublishCommandAsync(id, "{}"));
    }

    [Fact]
    public async Task Devices_removed_together_are_each_refused_after_even_when_some_were_removed_before()
    {
        // Removals that arrive at once go to the broker as one bulk delete: one user already gone, in the middle, must not stop the rest.
        var ids = Enumerable.Range(0, 5).Select(_ => DeviceIdentity.NewDeviceId()).ToList();
        foreach (var id in ids.Where((_, i) => i != 2))
            await _broker.AddDeviceAsync(id);
        var identities = ids.Select(id => DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath)).ToList();
        try
        {
            var mosquitto = new Mosquitto(_broker);
            var before = await mosquitto.SubscribeAndLeaveAsync(identities[4], ids[4], $"devices/{ids[4]}/commands");
            Assert.True(before.ExitCode == 0, before.Output + before.Error);

            await Task.WhenAll(ids.Select(_broker.RemoveDeviceAsync));

            foreach (var identity in identities)
            {
                var after = await mosquitto.SubscribeAndLeaveAsync(identity, identity.DeviceId, $"devices/{identity.DeviceId}/commands");
                Assert.False(Mosquitto.Connected(after.Output + after.Error), $"{identity.DeviceId} still connects: {after.Output}{after.Error}");
            }
            await Assert.ThrowsAsync<PublishReturnException>(() => _broker.PublishCommandAsync(ids[4], "{}"));
        }
        finally
        {
            identities.ForEach(identity => identity.Dispose());
        }
    }
}
