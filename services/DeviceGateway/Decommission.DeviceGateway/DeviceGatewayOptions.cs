using System.ComponentModel.DataAnnotations;
using Decommission.DeviceProtocol;

namespace Decommission.DeviceGateway;

/// <summary>Bound from the "DeviceGateway" section.</summary>
public sealed class DeviceGatewayOptions : IValidatableObject
{
    public const string Section = "DeviceGateway";

    [Required]
    public string DatabasePath { get; set; } = "data/device-gateway/device-gateway.db";

    /// <summary>The command-signing private key: PKCS#8 PEM (owner-only), or PKCS#12 (<c>.pfx</c>, <c>.p12</c>) opened with
    /// <see cref="SigningKeyPassword"/>. Every replica is given the same file. A PEM is created on first start when absent, but
    /// only on SQLite: with <c>Storage:Postgres</c> (replicas possible) a missing key stops the start. Its public key is
    /// written beside it as <c>.pub.pem</c> for devices.</summary>
    [Required]
    public string SigningKeyPath { get; set; } = "data/device-gateway/command-signing.key.pem";

    /// <summary>The password of a PKCS#12 <see cref="SigningKeyPath"/> (from configuration: an environment variable or a secret store).</summary>
    public string? SigningKeyPassword { get; set; }

    /// <summary>Optional: a next command-signing key (PKCS#8 PEM, owner-only; created when absent), held beside the current
    /// one for rotation. It signs nothing; its public half is written beside it as <c>.pub.pem</c> so devices can be
    /// provisioned with it before it is promoted (docs/device-protocol.md, "Key rotation").</summary>
    public string? NextSigningKeyPath { get; set; }

    /// <summary>The password of a PKCS#12 <see cref="NextSigningKeyPath"/>.</summary>
    public string? NextSigningKeyPassword { get; set; }

    /// <summary>Optional: where else to write the command-signing public key (for the certificates service, which checks
    /// commands against it without access to the gateway's key directory).</summary>
    public string? PublicKeyExportPath { get; set; }

    /// <summary>The device channel: the AMQP side of the broker's MQTT plugin, in the devices' virtual host, as the gateway's
    /// own user; amqps://user:password@host:port/iot (plain amqp:// only when the URI says so).</summary>
    [Required]
    public Uri DeviceBrokerUri { get; set; } = new("amqp://guest:guest@127.0.0.1:5672/iot");

    /// <summary>PEM: the CA the device broker's server certificate must chain to; required for amqps://.</summary>
    public string? DeviceBrokerCaCertificatePath { get; set; }

    /// <summary>The gateway's queue of receipts in the devices' virtual host (one per gateway deployment on a broker).</summary>
    [Required]
    public string DeviceReceiptQueue { get; set; } = DeviceChannelNames.ReceiptQueue;

    /// <summary>The fleet CA certificate (PEM, public): device identities are registered only with a certificate it issued.</summary>
    [Required]
    public string FleetCaCertificatePath { get; set; } = "data/credentials/ca/fleet-ca.pem";

    /// <summary>The largest receipt accepted; a larger one is rejected as Malformed and no more than this much of it is kept.</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxReceiptBytes { get; set; } = 16 * 1024;

    /// <summary>How far a receipt's device time may lie outside the command's window (issued to expiry, and no later than
    /// its receipt by our clock) before it is rejected as ClockSkew.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DeviceBrokerUri.Scheme == "amqps" && string.IsNullOrEmpty(DeviceBrokerCaCertificatePath))
            yield return new ValidationResult("amqps:// needs DeviceBrokerCaCertificatePath, the CA the broker's certificate is checked against.",
                [nameof(DeviceBrokerCaCertificatePath)]);
        if (DeviceBrokerUri.Scheme is not ("amqp" or "amqps"))
            yield return new ValidationResult("DeviceBrokerUri must be amqps:// (or amqp://).", [nameof(DeviceBrokerUri)]);
    }
}
