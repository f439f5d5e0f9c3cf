namespace Decommission.DeviceProtocol;

/// <summary>
/// The AMQP names of the device channel (docs/device-protocol.md, "Transport"): the AMQP side of RabbitMQ's MQTT plugin in
/// the devices' virtual host. Devices speak MQTT; their topics (<see cref="DeviceTopics"/>) are routing keys on
/// <see cref="TopicExchange"/>, where the gateway publishes commands and takes receipts over AMQP.
/// </summary>
public static class DeviceChannelNames
{
    /// <summary>The devices' virtual host (the MQTT plugin's <c>mqtt.vhost</c>).</summary>
    public const string VirtualHost = "iot";

    /// <summary>The MQTT plugin's exchange (<c>mqtt.exchange</c>): every device topic is a routing key on it.</summary>
    public const string TopicExchange = "amq.topic";

    /// <summary>The gateway's durable queue of receipts, bound to <see cref="TopicExchange"/> by <see cref="ReceiptBindingKey"/>.</summary>
    public const string ReceiptQueue = "decommission.device-receipts";

    /// <summary>Every device's receipt topic, as a binding key.</summary>
    public const string ReceiptBindingKey = "devices.*.receipts";

    /// <summary>The routing key of a device's command topic: its inbox (commands and verdicts).</summary>
    public static string CommandRoutingKey(string deviceId) => DeviceTopics.RoutingKey(DeviceTopics.Commands(deviceId));

    /// <summary>The device whose receipt topic <paramref name="routingKey"/> is; null when it is no device's receipt topic.
    /// The broker's topic permission lets only that device's certificate publish there.</summary>
    public static string? DeviceOfReceiptRoutingKey(string routingKey)
    {
        const string prefix = "devices.", suffix = ".receipts";
        if (!routingKey.StartsWith(prefix, StringComparison.Ordinal) || !routingKey.EndsWith(suffix, StringComparison.Ordinal)
            || routingKey.Length <= prefix.Length + suffix.Length)
            return null;
        var deviceId = routingKey[prefix.Length..^suffix.Length];
        return deviceId.Contains('.', StringComparison.Ordinal) ? null : deviceId;
    }

    /// <summary>The pattern of the devices' session queues (<see cref="DeviceTopics.SessionQueue"/>), for permissions and the policy.</summary>
    public const string SessionQueuePattern = "^mqtt-subscription-.*qos1$";

    /// <summary>The policy that keeps one command waiting per device (max-length 1, drop-head) and expires unused sessions.</summary>
    public const string SessionPolicy = "decommission-device-sessions";

    public const string ContentType = "application/json";
}
