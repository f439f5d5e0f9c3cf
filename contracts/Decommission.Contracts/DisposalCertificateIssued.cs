namespace Decommission.Contracts;

/// <summary>A signed disposal certificate exists for the retirement.</summary>
public record DisposalCertificateIssued
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string CertificateId { get; init; } = "";
    public string PdfSha256 { get; init; } = "";
    public DateTimeOffset IssuedAt { get; init; }
}
