using Decommission.DeviceProtocol;
using Decommission.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;

namespace Decommission.DeviceAgent.Tests;

/// <summary>The fleet on the real RabbitMQ node ops/test.sh starts.</summary>
public sealed class FleetOnBrokerTests : IDisposable
{
    private readonly GatewayKey gateway = new();

    public void Dispose() => gateway.Dispose();

    [Fact]
    public async Task A_fleet_larger_than_one_connections_channel_limit_brings_every_device_online()
    {
        // RabbitMQ allows 2047 channels per connection and every device has its own: 2,100 devices need two connections.
        var run = Guid.NewGuid().ToString("N")[..8];
        var devices = Enumerable.Range(1, 2_100)
            .Select(i => new SimulatedDevice(new DeviceSpec { Id = $"big-{run}-{i:D4}" }, gateway.PublicKey, GatewayKey.Now)).ToList();
        await using var fleet = new DeviceFleet(RabbitMqNode.Uri, devices, TimeProvider.System, NullLogger<DeviceFleet>.Instance);

        await fleet.StartAsync(CancellationToken.None);

        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var device in devices.Where((_, i) => i % 100 == 99 || i >= 2_040))
        {
            var queue = await channel.QueueDeclarePassiveAsync(DeviceChannelNames.CommandQueue(device.Id));
            Assert.True(queue.ConsumerCount == 1, $"{device.Id} is not listening for commands");
        }
        foreach (var device in devices)
            await channel.QueueDeleteAsync(DeviceChannelNames.CommandQueue(device.Id));
    }
}
