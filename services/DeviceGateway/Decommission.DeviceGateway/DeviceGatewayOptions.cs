using System.ComponentModel.DataAnnotations;

namespace Decommission.DeviceGateway;

/// <summary>Bound from the "DeviceGateway" section.</summary>
public sealed class DeviceGatewayOptions
{
    public const string Section = "DeviceGateway";

    [Required]
    public string DatabasePath { get; set; } = "data/device-gateway/device-gateway.db";

    /// <summary>The command-signing private key (PKCS#8 PEM, owner-only); created on first start when absent.
    /// Its public key is written beside it as <c>.pub.pem</c> for devices.</summary>
    [Required]
    public string SigningKeyPath { get; set; } = "data/device-gateway/command-signing.key.pem";

    /// <summary>Optional: a next command-signing key (PKCS#8 PEM, owner-only; created when absent), held beside the current
    /// one for rotation. It signs nothing; its public half is written beside it as <c>.pub.pem</c> so devices can be
    /// provisioned with it before it is promoted (docs/device-protocol.md, "Key rotation").</summary>
    public string? NextSigningKeyPath { get; set; }

    /// <summary>Optional: where else to write the command-signing public key (for the certificates service, which checks
    /// commands against it without access to the gateway's key directory).</summary>
    public string? PublicKeyExportPath { get; set; }

    /// <summary>The broker devices connect to (the device channel); amqp://user:password@host:port/vhost.</summary>
    [Required]
    public Uri DeviceBrokerUri { get; set; } = new("amqp://guest:guest@127.0.0.1:5672/");

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
}
