using MassTransit;

namespace Decommission.Contracts;

/// <summary>A signed disposal certificate exists for the retirement.</summary>
public record DisposalCertificateIssued : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string DeviceId { get; init; } = "";
    public string CertificateId { get; init; } = "";
    public string PdfSha256 { get; init; } = "";
    public DateTimeOffset IssuedAt { get; init; }
}
