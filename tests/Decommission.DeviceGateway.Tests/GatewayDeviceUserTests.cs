using System.Text;
using Decommission.DeviceProtocol;
using Decommission.Testing;
using Decommission.Topology;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Decommission.DeviceGateway.Tests;

/// <summary>
/// The gateway's rights in the devices' virtual host, as the bus catalogue gives them (DeviceVirtualHost.Gateway), on the
/// test node over AMQPS: enough for the device channel, and not enough to forge a receipt or read a device's commands.
/// </summary>
public sealed class GatewayDeviceUserTests
{
    private readonly DeviceChannelNode _node = new();

    [Fact]
    public async Task The_gateways_device_user_runs_the_device_channel_and_cannot_forge_a_receipt()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var (user, password) = ($"gateway-{run}", Guid.NewGuid().ToString("N"));
        var rights = DeviceVirtualHost.Gateway;
        await _node.AddServiceUserAsync(user, password, rights.Configure, rights.Write, rights.Read, rights.TopicWrite, rights.TopicRead);
        var options = new DeviceGatewayOptions
        {
            DeviceBrokerUri = new UriBuilder(_node.GatewayUri) { UserName = user, Password = password }.Uri,
            DeviceBrokerCaCertificatePath = _node.BrokerCaPath,
        };
        await using var connection = await Channel.DeviceBrokerConnection.Factory(options).CreateConnectionAsync();
        var device = $"dev-{run}";

        // What the channel does: its receipt queue bound to every receipt topic; a device's session queue bound to its
        // command topic; a command published there, confirmed.
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true)))
        {
            await channel.QueueDeclareAsync(DeviceChannelNames.ReceiptQueue, durable: true, exclusive: false, autoDelete: false);
            await channel.QueueBindAsync(DeviceChannelNames.ReceiptQueue, DeviceChannelNames.TopicExchange, DeviceChannelNames.ReceiptBindingKey);
            await channel.QueueDeclareAsync(DeviceTopics.SessionQueue(device), durable: true, exclusive: false, autoDelete: false);
            await channel.QueueBindAsync(DeviceTopics.SessionQueue(device), DeviceChannelNames.TopicExchange, DeviceChannelNames.CommandRoutingKey(device));
            await channel.BasicPublishAsync(DeviceChannelNames.TopicExchange, DeviceChannelNames.CommandRoutingKey(device), mandatory: true,
                new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes("{}"));
        }

        var refused = new List<(string What, Func<IChannel, Task> Operation)>
        {
            ("publish a receipt", c => c.BasicPublishAsync(DeviceChannelNames.TopicExchange, DeviceTopics.RoutingKey(DeviceTopics.Receipts(device)),
                mandatory: false, new BasicProperties(), Encoding.UTF8.GetBytes("{}")).AsTask()),
            ("publish telemetry", c => c.BasicPublishAsync(DeviceChannelNames.TopicExchange, DeviceTopics.RoutingKey(DeviceTopics.Telemetry(device)),
                mandatory: false, new BasicProperties(), Encoding.UTF8.GetBytes("{}")).AsTask()),
            ("read a device's commands", c => c.BasicGetAsync(DeviceTopics.SessionQueue(device), autoAck: true)),
            ("declare a queue of its own", c => c.QueueDeclareAsync($"mine-{run}", durable: false, exclusive: false, autoDelete: true)),
            ("bind a session queue to telemetry", c => c.QueueBindAsync(DeviceTopics.SessionQueue(device), DeviceChannelNames.TopicExchange,
                DeviceTopics.RoutingKey(DeviceTopics.Telemetry(device)))),
        };
        var allowed = new List<string>();
        foreach (var (what, operation) in refused)
        {
            // Refusals close the channel; publishes are refused asynchronously, so each waits for its confirm.
            await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
            try
            {
                await operation(channel);
                allowed.Add(what);
            }
            catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or PublishException)
            {
            }
        }
        Assert.True(allowed.Count == 0, $"the gateway's device user may: {string.Join(", ", allowed)}");

        await using var cleanup = await new ConnectionFactory { Uri = _node.AdminUri }.CreateConnectionAsync();
        await using var admin = await cleanup.CreateChannelAsync();
        await admin.QueueDeleteAsync(DeviceTopics.SessionQueue(device));
    }
}
