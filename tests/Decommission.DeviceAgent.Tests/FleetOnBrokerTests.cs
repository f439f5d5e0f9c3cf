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
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        // The gateway makes each device's queue when it registers the device's identity; devices make nothing.
        foreach (var device in devices)
            await channel.QueueDeclareAsync(DeviceChannelNames.CommandQueue(device.Id), durable: true, exclusive: false, autoDelete: false);

        await fleet.StartAsync(CancellationToken.None);

        foreach (var device in devices.Where((_, i) => i % 100 == 99 || i >= 2_040))
        {
            var queue = await channel.QueueDeclarePassiveAsync(DeviceChannelNames.CommandQueue(device.Id));
            Assert.True(queue.ConsumerCount == 1, $"{device.Id} is not listening for commands");
        }
        foreach (var device in devices)
            await channel.QueueDeleteAsync(DeviceChannelNames.CommandQueue(device.Id));
    }

    [Fact]
    public async Task A_device_whose_queue_does_not_exist_yet_listens_once_the_gateway_makes_it()
    {
        var device = new SimulatedDevice(new DeviceSpec { Id = $"late-{Guid.NewGuid():N}" }, gateway.PublicKey, GatewayKey.Now);
        await using var fleet = new DeviceFleet(RabbitMqNode.Uri, [device], TimeProvider.System, NullLogger<DeviceFleet>.Instance);

        // Started before the device is registered: nothing to listen to yet, and the fleet does not make the queue.
        await fleet.StartAsync(CancellationToken.None);
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        var queue = DeviceChannelNames.CommandQueue(device.Id);
        await using (var probe = await connection.CreateChannelAsync())
            await Assert.ThrowsAsync<RabbitMQ.Client.Exceptions.OperationInterruptedException>(() => probe.QueueDeclarePassiveAsync(queue));

        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await Eventually.Get(async () => (await channel.QueueDeclarePassiveAsync(queue)).ConsumerCount, consumers => consumers > 0,
            $"{device.Id} to start listening once its queue existed", interval: TimeSpan.FromMilliseconds(100));
        await channel.QueueDeleteAsync(queue);
    }
}
