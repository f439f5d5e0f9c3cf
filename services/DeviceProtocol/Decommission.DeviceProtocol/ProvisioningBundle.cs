using System.Text.Json;
using System.Text.Json.Serialization;

namespace Decommission.DeviceProtocol;

/// <summary>
/// Everything a device needs to join the device channel, made at enrollment (docs/device-protocol.md, "Provisioning"):
/// its identity certificate (the fleet CA's signature over its attestation key; also its TLS client certificate), the
/// certificates it trusts, the gateway's command-signing public keys, and where and on which topics to talk.
/// Public material only: the device's private attestation key never leaves it. One JSON file per device, <c>&lt;deviceId&gt;.json</c>.
/// </summary>
public sealed record ProvisioningBundle
{
    [JsonPropertyName("v")] public int Version { get; init; } = SignedMessage.Version;
    [JsonPropertyName("deviceId")] public string DeviceId { get; init; } = "";
    /// <summary>PEM: the device's identity certificate, CN = device id, over its attestation public key.</summary>
    [JsonPropertyName("identityCertificate")] public string IdentityCertificate { get; init; } = "";
    /// <summary>PEM: the fleet CA that issued <see cref="IdentityCertificate"/>.</summary>
    [JsonPropertyName("fleetCaCertificate")] public string FleetCaCertificate { get; init; } = "";
    /// <summary>PEM: the CA the broker's server certificate must chain to (the device checks it at the TLS handshake).</summary>
    [JsonPropertyName("brokerCaCertificate")] public string BrokerCaCertificate { get; init; } = "";
    /// <summary>The gateway's command-signing keys the device accepts: the current one and, during a rotation, the next.</summary>
    [JsonPropertyName("commandSigningKeys")] public IReadOnlyList<CommandSigningPublicKey> CommandSigningKeys { get; init; } = [];
    [JsonPropertyName("mqtt")] public MqttEndpoint Mqtt { get; init; } = new();

    public static string FileName(string deviceId) => $"{deviceId}.json";

    /// <summary>A device's bundle: its identity certificate and topics with what every device of the fleet gets.</summary>
    public static ProvisioningBundle For(string deviceId, string identityCertificatePem, string fleetCaCertificatePem, string brokerCaCertificatePem,
        IReadOnlyList<CommandSigningPublicKey> commandSigningKeys, IReadOnlyList<string> mqttServers) => new()
    {
        DeviceId = deviceId,
        IdentityCertificate = identityCertificatePem,
        FleetCaCertificate = fleetCaCertificatePem,
        BrokerCaCertificate = brokerCaCertificatePem,
        CommandSigningKeys = commandSigningKeys,
        Mqtt = MqttEndpoint.For(deviceId, mqttServers),
    };

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Indented);

    /// <summary>Reads a bundle; null with the reason when the file is not one (wrong version, missing parts).</summary>
    public static (ProvisioningBundle? Bundle, string? Problem) Parse(string json)
    {
        ProvisioningBundle? bundle;
        try
        {
            bundle = JsonSerializer.Deserialize<ProvisioningBundle>(json);
        }
        catch (JsonException e)
        {
            return (null, $"not a provisioning bundle: {e.Message}");
        }
        if (bundle is null)
            return (null, "not a provisioning bundle: empty");
        if (bundle.Version != SignedMessage.Version)
            return (null, $"provisioning bundle version {bundle.Version}, not {SignedMessage.Version}");
        if (bundle.DeviceId.Length == 0 || bundle.IdentityCertificate.Length == 0 || bundle.CommandSigningKeys.Count == 0)
            return (null, "provisioning bundle without deviceId, identityCertificate or commandSigningKeys");
        return (bundle, null);
    }
}

/// <summary>A gateway command-signing public key as a device stores it.</summary>
public sealed record CommandSigningPublicKey
{
    /// <summary><see cref="ProtocolSigning.KeyId(byte[])"/> of <see cref="PublicKey"/>: what a command's <c>keyId</c> names.</summary>
    [JsonPropertyName("keyId")] public string KeyId { get; init; } = "";
    /// <summary>Base64 DER SubjectPublicKeyInfo, ECDSA P-256.</summary>
    [JsonPropertyName("publicKey")] public string PublicKey { get; init; } = "";
    /// <summary><c>current</c> (signs commands now) or <c>next</c> (will, after a rotation).</summary>
    [JsonPropertyName("status")] public string Status { get; init; } = "current";
}

/// <summary>Where the device connects and which topics are its own (MQTT 3.1.1 over TLS; the client id is the device id).</summary>
public sealed record MqttEndpoint
{
    /// <summary>host:port pairs, tried in order (a cluster lists every node).</summary>
    [JsonPropertyName("servers")] public IReadOnlyList<string> Servers { get; init; } = [];
    [JsonPropertyName("clientId")] public string ClientId { get; init; } = "";
    /// <summary>Subscribed with QoS 1 on a persistent session: erase commands and verdicts arrive here.</summary>
    [JsonPropertyName("commandTopic")] public string CommandTopic { get; init; } = "";
    /// <summary>Receipts and refusals go here (QoS 1).</summary>
    [JsonPropertyName("receiptTopic")] public string ReceiptTopic { get; init; } = "";
    /// <summary>Ordinary telemetry; refused by the broker once the device is quarantined.</summary>
    [JsonPropertyName("telemetryTopic")] public string TelemetryTopic { get; init; } = "";

    public static MqttEndpoint For(string deviceId, IReadOnlyList<string> servers) => new()
    {
        Servers = servers,
        ClientId = deviceId,
        CommandTopic = DeviceTopics.Commands(deviceId),
        ReceiptTopic = DeviceTopics.Receipts(deviceId),
        TelemetryTopic = DeviceTopics.Telemetry(deviceId),
    };
}

/// <summary>A device's MQTT topics; on RabbitMQ's amq.topic exchange MQTT's "/" is "." (<see cref="RoutingKey"/>).</summary>
public static class DeviceTopics
{
    public static string Commands(string deviceId) => $"devices/{deviceId}/commands";
    public static string Receipts(string deviceId) => $"devices/{deviceId}/receipts";
    public static string Telemetry(string deviceId) => $"devices/{deviceId}/telemetry";

    /// <summary>The AMQP routing key on amq.topic of an MQTT topic.</summary>
    public static string RoutingKey(string topic) => topic.Replace('/', '.');

    /// <summary>The broker session queue of an MQTT client with a persistent session and QoS 1 subscriptions (RabbitMQ 3.x).</summary>
    public static string SessionQueue(string deviceId) => $"mqtt-subscription-{deviceId}qos1";
}
