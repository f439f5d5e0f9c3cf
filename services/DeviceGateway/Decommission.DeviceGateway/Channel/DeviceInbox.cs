using System.Globalization;
using Decommission.DeviceProtocol;
using RabbitMQ.Client;

namespace Decommission.DeviceGateway.Channel;

/// <summary>
/// A device's inbox on the broker: its MQTT session queue (<c>mqtt-subscription-&lt;id&gt;qos1</c>) bound to its command
/// topic on amq.topic. What waits there and for how long is the broker's policy on session queues (max-length 1,
/// drop-head: one copy waiting; expires: an unused session goes), and each message's own TTL, its expiry.
/// </summary>
internal static class DeviceInbox
{
    /// <summary>Persistent, with the message's expiry as its TTL: a copy waits until then (an offline device may be away for days).</summary>
    public static BasicProperties Properties(string messageId, DateTimeOffset deliverBy, DateTimeOffset now) => new()
    {
        MessageId = messageId,
        ContentType = DeviceChannelNames.ContentType,
        Persistent = true,
        Expiration = Math.Max(1, (long)(deliverBy - now).TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
    };

    // Publishes concurrently on one channel; each call returns once the broker has confirmed its message.
    public static async Task PublishAsync(IChannel channel, string deviceId, BasicProperties properties, byte[] body, CancellationToken cancellationToken) =>
        await channel.BasicPublishAsync(DeviceChannelNames.TopicExchange, DeviceChannelNames.CommandRoutingKey(deviceId),
            mandatory: true, properties, body, cancellationToken);

    /// <summary>
    /// Declared exactly as RabbitMQ 3.10's MQTT plugin declares a QoS 1 session queue of a client with clean session false when
    /// <c>mqtt.subscription_ttl = infinity</c>: durable, not exclusive, not auto-delete, no arguments (any argument, x-expires or
    /// x-max-length, would make the device's own SUBSCRIBE fail as inequivalent: the bounds come from the policy instead).
    /// </summary>
    public static async Task PrepareAsync(IChannel channel, string deviceId, CancellationToken cancellationToken)
    {
        var queue = DeviceTopics.SessionQueue(deviceId);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(queue, DeviceChannelNames.TopicExchange, DeviceChannelNames.CommandRoutingKey(deviceId), cancellationToken: cancellationToken);
    }
}
