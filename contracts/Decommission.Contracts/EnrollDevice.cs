namespace Decommission.Contracts;

/// <summary>Enrolls one device: issues its identity certificate over its attestation key and creates its operational secrets.</summary>
public record EnrollDevice
{
    public string DeviceId { get; init; } = "";
    /// <summary>The device's attestation public key, SubjectPublicKeyInfo (DER), base64.</summary>
    public string AttestationPublicKey { get; init; } = "";
    public string NetworkSegment { get; init; } = "";
    public string RequestedBy { get; init; } = "";
}
