using System.ComponentModel.DataAnnotations;

namespace Decommission.Credentials.Provisioning;

/// <summary>
/// Bound from "Credentials:Provisioning": what enrollment puts in every device's provisioning bundle besides its identity
/// certificate and the fleet CA. Without <see cref="MqttServers"/> no bundles are made (the embedded demo has no broker).
/// </summary>
public sealed class ProvisioningOptions : IValidatableObject
{
    public const string Section = "Credentials:Provisioning";

    /// <summary>host:port of each MQTT-over-TLS listener, tried in order by devices.</summary>
    public List<string> MqttServers { get; set; } = [];

    /// <summary>PEM: the CA the broker's server certificate chains to.</summary>
    public string? BrokerCaCertificatePath { get; set; }

    /// <summary>
    /// The gateway's command-signing public keys (PEM; the gateway writes its key's beside it as .pub.pem): the current one
    /// first, which must exist, then the next one, used during a rotation and skipped while its file does not exist.
    /// </summary>
    public List<string> CommandSigningPublicKeyPaths { get; set; } = [];

    public bool IsConfigured => MqttServers.Count > 0;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IsConfigured)
            yield break;
        if (string.IsNullOrWhiteSpace(BrokerCaCertificatePath))
            yield return new ValidationResult("BrokerCaCertificatePath is required with MqttServers", [nameof(BrokerCaCertificatePath)]);
        if (CommandSigningPublicKeyPaths.Count == 0)
            yield return new ValidationResult("CommandSigningPublicKeyPaths needs the current key's path with MqttServers", [nameof(CommandSigningPublicKeyPaths)]);
        foreach (var server in MqttServers.Where(s => !IsHostAndPort(s)))
            yield return new ValidationResult($"MQTT server '{server}' is not host:port", [nameof(MqttServers)]);
    }

    private static bool IsHostAndPort(string server) =>
        server.LastIndexOf(':') is var colon and > 0
        && int.TryParse(server[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536;
}
