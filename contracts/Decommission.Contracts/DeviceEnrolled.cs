namespace Decommission.Contracts;

/// <summary>Answers an enrollment: the identity certificate and the secrets, which are not kept anywhere in clear.</summary>
public record DeviceEnrolled
{
    public string DeviceId { get; init; } = "";
    public string IdentityCertificateSerial { get; init; } = "";
    /// <summary>PEM.</summary>
    public string IdentityCertificate { get; init; } = "";
    public DeviceSecrets Secrets { get; init; } = new();
}
