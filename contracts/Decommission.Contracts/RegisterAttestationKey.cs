namespace Decommission.Contracts;

/// <summary>Registers a device's attestation public key (SubjectPublicKeyInfo, base64) so its wipe receipts can be verified.</summary>
public record RegisterAttestationKey
{
    public string DeviceId { get; init; } = "";
    public string PublicKey { get; init; } = "";
    public string RegisteredBy { get; init; } = "";
}
