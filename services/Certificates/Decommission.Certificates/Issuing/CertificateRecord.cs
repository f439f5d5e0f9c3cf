namespace Decommission.Certificates.Issuing;

/// <summary>A stored certificate's metadata, as listed to auditors.</summary>
public sealed record CertificateRecord(
    long Seq, string CertificateId, Guid RetirementId, string DeviceId, string SanitizationType, DateTimeOffset IssuedAt, string PdfSha256);
