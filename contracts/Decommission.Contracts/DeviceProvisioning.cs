namespace Decommission.Contracts;

/// <summary>
/// What every enrolled device's provisioning bundle holds besides its own identity certificate: the certificates it trusts,
/// the gateway's command-signing keys and the broker's MQTT addresses. Sent once per enrollment answer; a device's bundle
/// is this with its identity certificate and its topics (Decommission.DeviceProtocol.ProvisioningBundle.For).
/// </summary>
public record DeviceProvisioning
{
    /// <summary>PEM: the fleet CA that issues identity certificates.</summary>
    public string FleetCaCertificate { get; init; } = "";
    /// <summary>PEM: the CA the broker's server certificate chains to.</summary>
    public string BrokerCaCertificate { get; init; } = "";
    /// <summary>The current key first, then the next one during a rotation.</summary>
    public IReadOnlyList<ProvisionedSigningKey> CommandSigningKeys { get; init; } = [];
    /// <summary>host:port of each MQTT-over-TLS listener.</summary>
    public IReadOnlyList<string> MqttServers { get; init; } = [];
}
