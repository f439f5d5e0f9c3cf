namespace Decommission.Contracts;

/// <summary>Answers an enrollment: the identity certificate and the secrets, which are not kept anywhere in clear.</summary>
public record DeviceEnrolled
{
    public string DeviceId { get; init; } = "";
    public string IdentityCertificateSerial { get; init; } = "";
    /// <summary>PEM.</summary>
    public string IdentityCertificate { get; init; } = "";
    public DeviceSecrets Secrets { get; init; } = new();
    /// <summary>The rest of the device's provisioning bundle, when the credentials service provisions devices; null inside
    /// <see cref="DevicesEnrolled"/>, which carries it once for all.</summary>
    public DeviceProvisioning? Provisioning { get; init; }
}
