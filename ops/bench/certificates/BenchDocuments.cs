using Decommission.Contracts;
using System.Security.Cryptography;
using Decommission.Certificates.Pdf;
using Decommission.Testing;
using Decommission.DeviceProtocol;

/// <summary>Certificates shaped like the issuer's: a crypto-erase whose evidence really verifies, with a realistic audit trail.</summary>
internal static class BenchDocuments
{
    private static readonly EvidenceFactory Fleet = new("Bench Fleet CA");

    public static CertificateDocument Create(int index)
    {
        var deviceId = $"meter-{index:00000}";
        var retirementId = Guid.NewGuid();
        var evidence = Fleet.Evidence(deviceId, retirementId: retirementId);
        var (wipe, problem) = WipeEvidence.Verify(Convert.FromBase64String(evidence.Receipt), evidence.ReceiptSha256, Convert.FromBase64String(evidence.Command),
            Convert.FromBase64String(evidence.IdentityCertificate), deviceId, retirementId, Fleet.FleetCa, Fleet.GatewayKey.ExportSubjectPublicKeyInfo());
        if (wipe is null)
            throw new InvalidOperationException($"the bench's evidence does not verify: {problem}");
        var requested = new DateTimeOffset(2025, 3, 4, 9, 30, 0, TimeSpan.Zero).AddMinutes(index);
        string[] states = [.. RetirementStates.All.Take(6)];
        return new CertificateDocument
        {
            CertificateId = $"DC-{retirementId:N}".ToUpperInvariant(),
            RetirementId = retirementId,
            IssuedAt = requested.AddMinutes(12),
            DeviceId = deviceId,
            Manufacturer = "Acme Sensors GmbH",
            Model = "AS-9000 Smart Meter",
            SerialNumber = $"SN-77A1-{index:00000}",
            AssetNumber = $"ASSET-2019-{index:00000}",
            MediaType = "eMMC flash, 8 GB (self-encrypting)",
            MediaSource = "Northwind Utilities, metering division",
            SanitizationType = SanitizationTypes.Purge,
            Method = "Cryptographic Erase: every copy of the media encryption key destroyed (NIST SP 800-88 Rev.2)",
            Tool = "Decommission device channel (signed crypto-erase command, device firmware erase)",
            ToolVersion = "1.0.0",
            VerificationMethod = "Device-signed wipe receipt verified by the certificates service from its bytes: identity certificate issued by the fleet CA "
                + "for this device, receipt signed by its key, answering the erase command the gateway signed (command id, nonce, time); "
                + "device self-check: decryption after erase",
            VerificationResult = "Passed: identity, receipt and command verified; self-check could not decrypt any data",
            PostSanitizationDestination = "Certified e-waste recycler (WEEE)",
            PerformedBy = $"Device {deviceId} (crypto-erase commanded by the Decommission service)",
            ValidatedBy = "Decommission certificates service (automated verification of the signed evidence)",
            RequestedAt = requested,
            SanitizedAt = requested.AddMinutes(9),
            Location = "Substation 7, Rotterdam",
            Reason = "End of life",
            RequestedBy = "operator:j.devries",
            DestroyedKeyIds = wipe.Receipt.DestroyedKeyIds,
            AreasCovered = wipe.Receipt.AreasCovered,
            AreasNotCovered = wipe.Receipt.AreasNotCovered,
            ReceiptSha256 = evidence.ReceiptSha256,
            CommandSha256 = Convert.ToHexStringLower(SHA256.HashData(wipe.CommandBytes)),
            IdentityCertificateSha256 = Convert.ToHexStringLower(SHA256.HashData(wipe.IdentityCertificate)),
            DeviceKeyId = wipe.DeviceKeyId,
            CommandKeyId = wipe.CommandKeyId,
            RevokedCredentials =
            [
                $"CloudToken cred-{index:x4}a revoked {requested.AddMinutes(1):yyyy-MM-dd HH:mm:ss}Z",
                $"ApiKey cred-{index:x4}b revoked {requested.AddMinutes(1):yyyy-MM-dd HH:mm:ss}Z",
                $"LocalAdminPassword cred-{index:x4}c revoked {requested.AddMinutes(1):yyyy-MM-dd HH:mm:ss}Z",
            ],
            IdentityCertificateSerial = Fleet.Identity(deviceId).SerialNumber,
            AuditTrail = states.Zip(states.Skip(1))
                .Select((step, i) => $"{requested.AddMinutes(2 * i).UtcDateTime:yyyy-MM-dd HH:mm:ss}Z {step.First} → {step.Second} by orchestrator")
                .ToList(),
        };
    }
}
