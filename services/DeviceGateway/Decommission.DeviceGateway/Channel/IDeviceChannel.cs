using Decommission.DeviceProtocol;

namespace Decommission.DeviceGateway.Channel;

/// <summary>How commands reach devices: through RabbitMQ's MQTT plugin here (devices speak MQTT, the gateway AMQP); an
/// in-process channel plugs in the same way.
/// Receipts come back through <see cref="Receipts.ReceiptProcessor"/>.</summary>
public interface IDeviceChannel
{
    /// <summary>Queues the command for its device until <paramref name="deliverBy"/> (the command's expiry), replacing any copy
    /// still waiting there: a device finds at most one command waiting, the newest, however often it was re-sent.</summary>
    Task SendAsync(EraseCommand command, DateTimeOffset deliverBy, CancellationToken cancellationToken);

    /// <summary>Sends a signed verdict (docs/device-protocol.md, "Verdict") to the device where its commands go, to wait for it until
    /// <paramref name="deliverBy"/> (the command's expiry); <paramref name="verdictId"/> identifies the message.</summary>
    Task SendVerdictAsync(string deviceId, string verdictId, byte[] signedVerdict, DateTimeOffset deliverBy, CancellationToken cancellationToken);

    /// <summary>Makes ready what a newly registered device reads its commands from (its MQTT session queue), so a command waits
    /// for it even before it first connects.</summary>
    Task PrepareDeviceAsync(string deviceId, CancellationToken cancellationToken);
}
