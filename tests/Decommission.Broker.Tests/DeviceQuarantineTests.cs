using Decommission.Credentials.Broker;
using Xunit.Abstractions;

namespace Decommission.Broker.Tests;

/// <summary>Quarantine reaches the broker: from then on the device has only the decommission topics, even on a live connection.</summary>
public sealed class DeviceQuarantineTests(ITestOutputHelper output)
{
    private readonly DeviceBroker _broker = new();

    [Fact]
    public async Task A_quarantined_device_is_refused_on_its_telemetry_topic_and_still_gets_its_commands_and_sends_receipts()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        var mosquitto = new Mosquitto(_broker);
        var telemetry = await mosquitto.PublishAsync(identity, $"devices/{id}/telemetry", "{}");
        Assert.True(telemetry.ExitCode == 0, telemetry.Output + telemetry.Error);
        await using var device = mosquitto.StartSubscriber(identity, $"devices/{id}/commands", count: 1);
        await device.WaitForLineAsync("Subscribed (mid: 1): 1", Mosquitto.Patience);

        var quarantining = device.Now;
        await _broker.QuarantineDeviceAsync(id);

        // Its live connection is closed (narrowed permissions alone do not reach it); it connects and subscribes again.
        var closed = await device.WaitForLineAsync("sending CONNECT", Mosquitto.Patience, occurrence: 2);
        output.WriteLine($"connection closed {(closed - quarantining).TotalSeconds:0.00} s after the quarantine began (the management API calls included)");
        await device.WaitForLineAsync("received SUBACK", Mosquitto.Patience, occurrence: 2);
        var command = $"{{\"erase\":\"{Guid.NewGuid():N}\"}}";
        await _broker.PublishCommandAsync(id, command);
        Assert.Equal(0, await device.WaitForExitAsync(Mosquitto.Patience));
        Assert.Contains(command, device.Output, StringComparison.Ordinal);

        telemetry = await mosquitto.PublishAsync(identity, $"devices/{id}/telemetry", "{}");
        Assert.True(telemetry.ExitCode != 0, $"telemetry was acknowledged after the quarantine:\n{telemetry.Output}{telemetry.Error}");
        var receipt = await mosquitto.PublishAsync(identity, $"devices/{id}/receipts", "{}");
        Assert.True(receipt.ExitCode == 0, receipt.Output + receipt.Error);
    }

    [Fact]
    public async Task With_a_clusters_nodes_configured_a_management_api_that_does_not_answer_is_passed_over_for_the_next()
    {
        // A node that is gone (nothing listens on its port) first, the live node after it: each node's API manages the whole
        // cluster, so enrollment, quarantine and removal still reach the broker.
        var settings = _broker.ManagementSettings();
        settings.ManagementUri = $"http://127.0.0.1:{Decommission.Testing.Decom.ClosedPort()}/,{settings.ManagementUri}";
        using var identities = new DeviceBrokerIdentities(Microsoft.Extensions.Options.Options.Create(settings),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<DeviceBrokerIdentities>.Instance);
        var id = DeviceIdentity.NewDeviceId();
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        var mosquitto = new Mosquitto(_broker);

        await identities.AddAsync([id], CancellationToken.None);
        var telemetry = await mosquitto.PublishAsync(identity, $"devices/{id}/telemetry", "{}");
        Assert.True(telemetry.ExitCode == 0, telemetry.Output + telemetry.Error);

        await identities.QuarantineAsync(id, CancellationToken.None);
        telemetry = await mosquitto.PublishAsync(identity, $"devices/{id}/telemetry", "{}");
        Assert.True(telemetry.ExitCode != 0, $"telemetry was acknowledged after the quarantine:\n{telemetry.Output}{telemetry.Error}");

        await identities.RemoveAsync(id, CancellationToken.None);
        var receipt = await mosquitto.PublishAsync(identity, $"devices/{id}/receipts", "{}");
        Assert.True(receipt.ExitCode != 0, $"a removed device's receipt was acknowledged:\n{receipt.Output}{receipt.Error}");
    }

    [Fact]
    public async Task Devices_quarantined_together_are_each_refused_on_their_telemetry_and_keep_their_receipt_topic()
    {
        // Quarantines that arrive at once go to the broker as one bulk delete and one import; one device without a broker
        // user yet (its enrollment's import lost) must not stop the others, and is left quarantined too.
        var ids = Enumerable.Range(0, 4).Select(_ => DeviceIdentity.NewDeviceId()).ToList();
        foreach (var id in ids.Where((_, i) => i != 1))
            await _broker.AddDeviceAsync(id);
        var identities = ids.Select(id => DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath)).ToList();
        try
        {
            var mosquitto = new Mosquitto(_broker);
            await Task.WhenAll(ids.Select(_broker.QuarantineDeviceAsync));

            foreach (var identity in identities)
            {
                var telemetry = await mosquitto.PublishAsync(identity, $"devices/{identity.DeviceId}/telemetry", "{}");
                Assert.True(telemetry.ExitCode != 0, $"{identity.DeviceId}: telemetry was acknowledged after the quarantine:\n{telemetry.Output}{telemetry.Error}");
                var receipt = await mosquitto.PublishAsync(identity, $"devices/{identity.DeviceId}/receipts", "{}");
                Assert.True(receipt.ExitCode == 0, $"{identity.DeviceId}: {receipt.Output}{receipt.Error}");
            }
        }
        finally
        {
            identities.ForEach(identity => identity.Dispose());
        }
    }
}
