namespace Decommission.DeviceProtocol;

/// <summary>The AMQP names of the device channel (docs/device-protocol.md).</summary>
public static class DeviceChannelNames
{
    /// <summary>Topic exchange the gateway publishes signed commands to, routed by <see cref="CommandRoutingKey"/>.</summary>
    public const string CommandExchange = "decommission.device-commands";

    /// <summary>Exchange devices publish receipts to.</summary>
    public const string ReceiptExchange = "decommission.device-receipts";

    /// <summary>The gateway's queue of receipts, bound to <see cref="ReceiptExchange"/>.</summary>
    public const string ReceiptQueue = "decommission.device-receipts";

    public static string CommandRoutingKey(string deviceId) => $"device.{deviceId}";

    /// <summary>Each device's durable command queue: commands wait here while the device is offline.</summary>
    public static string CommandQueue(string deviceId) => $"decommission.device.{deviceId}.commands";

    public const string ContentType = "application/json";
}
