namespace Decommission.Contracts;

/// <summary>A device and its identity certificate (base64 DER) issued by the fleet CA over its attestation public key.</summary>
public record DeviceIdentity
{
    public string DeviceId { get; init; } = "";
    public string IdentityCertificate { get; init; } = "";
}
