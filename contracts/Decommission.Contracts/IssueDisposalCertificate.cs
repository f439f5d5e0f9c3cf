namespace Decommission.Contracts;

/// <summary>Orders the certificates service to issue the disposal certificate (NIST SP 800-88 Rev.1 Appendix G) for a retirement.</summary>
public record IssueDisposalCertificate
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public DeviceSnapshot Device { get; init; } = new();
    /// <summary>Purge (verified cryptographic erase) or Destroy (recorded physical destruction).</summary>
    public string SanitizationType { get; init; } = "";
    public ErasureEvidence? Evidence { get; init; }
    public PhysicalDestruction? Destruction { get; init; }
    public IReadOnlyList<RevokedCredential> RevokedCredentials { get; init; } = [];
    public string IdentityCertificateSerial { get; init; } = "";
    public string Reason { get; init; } = "";
    public string RequestedBy { get; init; } = "";
    public DateTimeOffset RequestedAt { get; init; }
    public IReadOnlyList<AuditEntry> AuditTrail { get; init; } = [];
}
