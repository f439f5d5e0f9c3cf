using Decommission.Certificates.Pdf;

namespace Decommission.Certificates.Tests.Pdf;

/// <summary>Certificates as the issuer describes them: a verified crypto-erase (Purge) and a witnessed destruction (Destroy).</summary>
internal static class SampleCertificates
{
    public static readonly DateTimeOffset RequestedAt = new(2025, 3, 4, 9, 30, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset SanitizedAt = new(2025, 3, 4, 10, 15, 42, TimeSpan.Zero);
    public static readonly DateTimeOffset CommandIssuedAt = new(2025, 3, 4, 10, 14, 58, TimeSpan.Zero);
    public static readonly DateTimeOffset ReceiptReceivedAt = new(2025, 3, 4, 10, 15, 44, TimeSpan.Zero);
    public static readonly DateTimeOffset IssuedAt = new(2025, 3, 4, 10, 16, 5, TimeSpan.FromHours(1)); // not UTC on purpose

    public const string ReceiptSha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    public static CertificateDocument Purge(int auditEntries = 8, Guid? retirementId = null)
    {
        var id = retirementId ?? Guid.Parse("7c9e6679-7425-40de-944b-e07fc1f90ae7");
        return new CertificateDocument
        {
            CertificateId = $"DC-{id:N}".ToUpperInvariant(),
            RetirementId = id,
            IssuedAt = IssuedAt,
            DeviceId = "meter-0042",
            Manufacturer = "Acme Sensors GmbH",
            Model = "AS-9000 Smart Meter",
            SerialNumber = "SN-77A1-0042",
            AssetNumber = "ASSET-2019-0042",
            MediaType = "eMMC flash, 8 GB (self-encrypting)",
            MediaSource = "Northwind Utilities, metering division",
            SanitizationType = "Purge",
            Method = "Cryptographic Erase: every copy of the media encryption key destroyed (NIST SP 800-88 Rev.2)",
            Tool = "Decommission device channel (signed crypto-erase command, device firmware erase)",
            ToolVersion = "1.4.2",
            VerificationMethod = "Device-signed wipe receipt verified against its registered attestation key, command, nonce and expiry; device self-check: decryption after erase",
            VerificationResult = "Passed: receipt verified; self-check could not decrypt any data",
            PostSanitizationDestination = "Certified e-waste recycler (WEEE)",
            PerformedBy = "Device meter-0042 (crypto-erase commanded by the Decommission service)",
            ValidatedBy = "Decommission device gateway (automated receipt verification)",
            RequestedAt = RequestedAt,
            SanitizedAt = SanitizedAt,
            CommandIssuedAt = CommandIssuedAt,
            ReceiptReceivedAt = ReceiptReceivedAt,
            TimeSources = "Sanitized at: the device's claim. Receipt received: stated by the gateway, not part of the device-signed bytes.",
            Location = "Substation 7, Rotterdam",
            Reason = "End of life",
            RequestedBy = "operator:j.devries",
            DestroyedKeyIds = ["media-key-slot-0", "media-key-slot-1", "backup-key-slot-0"],
            AreasCovered = ["user data partition", "configuration partition"],
            AreasNotCovered = ["boot ROM (read-only, holds no user data)"],
            ReceiptSha256 = ReceiptSha256,
            CommandSha256 = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            IdentityCertificateSha256 = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
            DeviceKeyId = "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c",
            CommandKeyId = "7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730",
            RevokedCredentials =
            [
                "CloudToken cred-7f3a revoked 2025-03-04 09:31:02Z",
                "ApiKey cred-91bc revoked 2025-03-04 09:31:02Z",
                "LocalAdminPassword cred-0d44 revoked 2025-03-04 09:31:02Z",
            ],
            IdentityCertificateSerial = "4F1A9C33D2E07B5A",
            AuditTrail = AuditTrail(auditEntries),
        };
    }

    public static CertificateDocument Destroy() => Purge(auditEntries: 5) with
    {
        SanitizationType = "Destroy",
        Method = "Physical destruction: shredded to 2 mm particles",
        Tool = "Physical destruction (recorded)",
        VerificationMethod = "Witnessed destruction recorded by the operator",
        VerificationResult = "Recorded by Jan de Vries, witnessed by Aisha Khan",
        PerformedBy = "Jan de Vries",
        ValidatedBy = "Aisha Khan",
        Witness = "Aisha Khan",
        Location = "Shredding facility, Eindhoven",
        DestroyedKeyIds = [],
        AreasCovered = [],
        AreasNotCovered = [],
        ReceiptSha256 = "",
        CommandSha256 = "",
        IdentityCertificateSha256 = "",
        DeviceKeyId = "",
        CommandKeyId = "",
        DestructionRecordId = "DR-0F3C2A9E5B7D4E1C8A6B2D9F0E1C3A5B",
    };

    /// <summary>Entries shaped like the issuer's, numbered ("step 007") so a test can tell which were printed; long enough to wrap.</summary>
    public static IReadOnlyList<string> AuditTrail(int count) =>
        Enumerable.Range(1, count)
            .Select(i => $"2025-03-04 09:{30 + i / 60:00}:{i % 60:00}Z Erasing → Erasing on EraseAttemptDue by orchestrator " +
                         $"(step {i:000}: erase command re-sent to the device's durable queue, waiting for a signed wipe receipt before the deadline)")
            .ToList();
}
