using MassTransit;

namespace Decommission.Contracts;

/// <summary>The device's identity certificate is on a signed CRL.</summary>
public record IdentityRevoked : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string DeviceId { get; init; } = "";
    public string CertificateSerial { get; init; } = "";
    public long CrlNumber { get; init; }
    public DateTimeOffset RevokedAt { get; init; }
}
