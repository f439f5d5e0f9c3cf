using Decommission.Certificates.Pdf;

/// <summary>Certificates shaped like the issuer's: a verified crypto-erase with a realistic evidence list and audit trail.</summary>
internal static class BenchDocuments
{
    public static CertificateDocument Create(int index)
    {
        var retirementId = Guid.NewGuid();
        var requested = new DateTimeOffset(2025, 3, 4, 9, 30, 0, TimeSpan.Zero).AddMinutes(index);
        string[] states = ["Requested", "Quarantining", "Erasing", "RevokingIdentity", "Certifying", "Completed"];
        return new CertificateDocument
        {
            CertificateId = $"DC-{retirementId:N}".ToUpperInvariant(),
            RetirementId = retirementId,
            IssuedAt = requested.AddMinutes(12),
            DeviceId = $"meter-{index:00000}",
            Manufacturer = "Acme Sensors GmbH",
            Model = "AS-9000 Smart Meter",
            SerialNumber = $"SN-77A1-{index:00000}",
            AssetNumber = $"ASSET-2019-{index:00000}",
            MediaType = "eMMC flash, 8 GB (self-encrypting)",
            MediaSource = "Northwind Utilities, metering division",
            SanitizationType = "Purge",
            Method = "Cryptographic Erase: every copy of the media encryption key destroyed (NIST SP 800-88 Rev.2)",
            Tool = "Decommission device channel (signed crypto-erase command, device firmware erase)",
            ToolVersion = "1.0.0",
            VerificationMethod = "Device-signed wipe receipt verified against its registered attestation key, command, nonce and expiry; device self-check: decryption after erase",
            VerificationResult = "Passed: receipt verified; self-check could not decrypt any data",
            PostSanitizationDestination = "Certified e-waste recycler (WEEE)",
            PerformedBy = $"Device meter-{index:00000} (crypto-erase commanded by the Decommission service)",
            ValidatedBy = "Decommission device gateway (automated receipt verification)",
            RequestedAt = requested,
            SanitizedAt = requested.AddMinutes(9),
            Location = "Substation 7, Rotterdam",
            Reason = "End of life",
            RequestedBy = "operator:j.devries",
            DestroyedKeyIds = ["media-key-slot-0", "media-key-slot-1", "backup-key-slot-0"],
            AreasCovered = ["user data partition", "configuration partition"],
            AreasNotCovered = ["boot ROM (read-only, holds no user data)"],
            ReceiptSha256 = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().Concat(Guid.NewGuid().ToByteArray()).ToArray()),
            RevokedCredentials =
            [
                $"CloudToken cred-{index:x4}a revoked {requested.AddMinutes(1):yyyy-MM-dd HH:mm:ss}Z",
                $"ApiKey cred-{index:x4}b revoked {requested.AddMinutes(1):yyyy-MM-dd HH:mm:ss}Z",
                $"LocalAdminPassword cred-{index:x4}c revoked {requested.AddMinutes(1):yyyy-MM-dd HH:mm:ss}Z",
            ],
            IdentityCertificateSerial = $"4F1A9C33D2E0{index:X4}",
            AuditTrail = states.Zip(states.Skip(1))
                .Select((step, i) => $"{requested.AddMinutes(2 * i).UtcDateTime:yyyy-MM-dd HH:mm:ss}Z {step.First} → {step.Second} by orchestrator")
                .ToList(),
        };
    }
}
