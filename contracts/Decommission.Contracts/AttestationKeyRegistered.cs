namespace Decommission.Contracts;

/// <summary>A device's attestation key is registered with the device gateway; KeyId is the SHA-256 of its SubjectPublicKeyInfo.</summary>
public record AttestationKeyRegistered
{
    public string DeviceId { get; init; } = "";
    public string KeyId { get; init; } = "";
}
