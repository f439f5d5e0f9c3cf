namespace Decommission.Certificates.Pdf;

/// <summary>
/// Everything a Certificate of Sanitization states (NIST SP 800-88 Rev.1 §4.8 / Appendix G), plus the evidence behind it.
/// The PDF and its JSON twin are both made from this one record.
/// </summary>
public sealed record CertificateDocument
{
    public string CertificateId { get; init; } = "";
    public Guid RetirementId { get; init; }
    public DateTimeOffset IssuedAt { get; init; }

    // Media (Appendix G: manufacturer, model, serial, asset number, media type, media source)
    public string DeviceId { get; init; } = "";
    public string Manufacturer { get; init; } = "";
    public string Model { get; init; } = "";
    public string SerialNumber { get; init; } = "";
    public string AssetNumber { get; init; } = "";
    public string MediaType { get; init; } = "";
    /// <summary>Who the media belonged to (owner / organisation).</summary>
    public string MediaSource { get; init; } = "";

    // Sanitization (Appendix G: sanitization type, method, tool and version, verification, destination)
    /// <summary>Purge (verified cryptographic erase) or Destroy (recorded physical destruction).</summary>
    public string SanitizationType { get; init; } = "";
    public string Method { get; init; } = "";
    public string Tool { get; init; } = "";
    public string ToolVersion { get; init; } = "";
    public string VerificationMethod { get; init; } = "";
    public string VerificationResult { get; init; } = "";
    public string PostSanitizationDestination { get; init; } = "";

    // People, time and place (Appendix G: performed by, validated by, dates, location)
    public string PerformedBy { get; init; } = "";
    public string ValidatedBy { get; init; } = "";
    public string Witness { get; init; } = "";
    public DateTimeOffset RequestedAt { get; init; }
    /// <summary>For a Purge: when the device says it completed the erase, by its own clock (signed in its receipt).</summary>
    public DateTimeOffset SanitizedAt { get; init; }
    /// <summary>For a Purge: when the gateway issued the erase command, by the gateway's clock (signed in the command).</summary>
    public DateTimeOffset? CommandIssuedAt { get; init; }
    /// <summary>For a Purge: when the gateway received the receipt, by the gateway's clock. Stated by the gateway, in no signed bytes.</summary>
    public DateTimeOffset? ReceiptReceivedAt { get; init; }
    /// <summary>For a Purge: one line on whose clock each time is and what signs it.</summary>
    public string TimeSources { get; init; } = "";
    public string Location { get; init; } = "";
    public string Reason { get; init; } = "";
    public string RequestedBy { get; init; } = "";

    // Evidence
    public IReadOnlyList<string> DestroyedKeyIds { get; init; } = [];
    public IReadOnlyList<string> AreasCovered { get; init; } = [];
    public IReadOnlyList<string> AreasNotCovered { get; init; } = [];
    public string ReceiptSha256 { get; init; } = "";
    public string CommandSha256 { get; init; } = "";
    public string IdentityCertificateSha256 { get; init; } = "";
    /// <summary>Key id (SHA-256 of the SubjectPublicKeyInfo) of the device key that signed the receipt.</summary>
    public string DeviceKeyId { get; init; } = "";
    /// <summary>Key id of the gateway key that signed the erase command.</summary>
    public string CommandKeyId { get; init; } = "";
    /// <summary>The witnessed destruction record a Destroy certificate rests on.</summary>
    public string DestructionRecordId { get; init; } = "";
    public IReadOnlyList<string> RevokedCredentials { get; init; } = [];
    public string IdentityCertificateSerial { get; init; } = "";
    /// <summary>One line per audit-trail entry: time, transition, event, actor.</summary>
    public IReadOnlyList<string> AuditTrail { get; init; } = [];
}
