namespace Decommission.Contracts;

/// <summary>The device's identity certificate is on a signed CRL.</summary>
public record IdentityRevoked
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string CertificateSerial { get; init; } = "";
    public long CrlNumber { get; init; }
    public DateTimeOffset RevokedAt { get; init; }
}
