using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Decommission.Certificates.Pdf;
using Decommission.Contracts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Issuing;

/// <summary>
/// Issues the disposal certificate of a retirement: the signed PDF and its JSON twin (same facts plus the PDF's SHA-256),
/// bytes on disk, metadata in SQLite. One certificate per retirement, however often the order is delivered.
/// </summary>
public sealed class CertificateIssuer(CertificatesDatabase database, CertificatePdf pdf, SigningIdentity signing, IOptions<CertificatesOptions> options,
    TimeProvider clock, ILogger<CertificateIssuer> logger)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private static readonly string ToolVersion =
        typeof(CertificateIssuer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    public string CertificateDirectory => Path.Combine(options.Value.DataDirectory, "certificates");

    public static string CertificateIdFor(Guid retirementId) => $"DC-{retirementId:N}".ToUpperInvariant();

    public async Task<CertificateRecord> IssueAsync(IssueDisposalCertificate order, CancellationToken cancellationToken)
    {
        if (await FindAsync(order.RetirementId, cancellationToken) is { } existing)
        {
            if (File.Exists(existing.PdfPath) && File.Exists(existing.JsonPath))
                return existing;
            // The row outlived its files (a crash between the two): issue again.
            await using var connection = await database.OpenAsync(cancellationToken);
            await connection.ExecuteAsync("DELETE FROM certificates WHERE retirement_id = @Id;", new { Id = order.RetirementId.ToString() });
        }

        var now = clock.GetUtcNow();
        var document = Describe(order, now);
        var pdfBytes = pdf.Render(document, signing.Certificate);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(pdfBytes));
        var twin = JsonSerializer.SerializeToUtf8Bytes(new CertificateJson(document, sha256, signing.Certificate.Subject, signing.Certificate.Thumbprint), Json);

        Directory.CreateDirectory(CertificateDirectory);
        var pdfPath = Path.Combine(CertificateDirectory, document.CertificateId + ".pdf");
        var jsonPath = Path.Combine(CertificateDirectory, document.CertificateId + ".json");
        var suffix = $".{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(pdfPath + suffix, pdfBytes, cancellationToken);
        await File.WriteAllBytesAsync(jsonPath + suffix, twin, cancellationToken);

        var inserted = await database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync("""
            INSERT OR IGNORE INTO certificates
                (certificate_id, retirement_id, device_id, sanitization_type, issued_at, issued_at_ms, pdf_sha256, pdf_path, json_path)
            VALUES (@CertificateId, @RetirementId, @DeviceId, @SanitizationType, @IssuedAt, @IssuedAtMs, @Sha256, @PdfPath, @JsonPath);
            """, new
        {
            document.CertificateId, RetirementId = order.RetirementId.ToString(), document.DeviceId, document.SanitizationType,
            IssuedAt = now.ToString("O"), IssuedAtMs = now.ToUnixTimeMilliseconds(), Sha256 = sha256, PdfPath = pdfPath, JsonPath = jsonPath,
        }, transaction));
        if (inserted == 0)
        {
            // A concurrent delivery of the same order issued it first: keep theirs.
            File.Delete(pdfPath + suffix);
            File.Delete(jsonPath + suffix);
            return (await FindAsync(order.RetirementId, cancellationToken))!;
        }
        File.Move(pdfPath + suffix, pdfPath, overwrite: true);
        File.Move(jsonPath + suffix, jsonPath, overwrite: true);
        logger.LogInformation("Issued disposal certificate {CertificateId} ({Type}) for {DeviceId}", document.CertificateId, document.SanitizationType, document.DeviceId);
        return (await FindAsync(order.RetirementId, cancellationToken))!;
    }

    public async Task<CertificateRecord?> FindAsync(Guid retirementId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await CertificateQueries.FirstAsync(connection, "retirement_id = @Key", retirementId.ToString());
    }

    /// <summary>The certificate's facts, as NIST SP 800-88 Rev.1 Appendix G names them.</summary>
    private CertificateDocument Describe(IssueDisposalCertificate order, DateTimeOffset now)
    {
        var purge = order.SanitizationType != "Destroy";
        var evidence = order.Evidence;
        var destruction = order.Destruction;
        return new CertificateDocument
        {
            CertificateId = CertificateIdFor(order.RetirementId),
            RetirementId = order.RetirementId,
            IssuedAt = now,
            DeviceId = order.DeviceId,
            Manufacturer = order.Device.Manufacturer,
            Model = order.Device.Model,
            SerialNumber = order.Device.SerialNumber,
            AssetNumber = order.Device.AssetNumber,
            MediaType = order.Device.MediaType,
            MediaSource = order.Device.Owner,
            SanitizationType = purge ? "Purge" : "Destroy",
            Method = purge
                ? "Cryptographic Erase: every copy of the media encryption key destroyed (NIST SP 800-88 Rev.2)"
                : $"Physical destruction: {destruction?.Method}",
            Tool = purge ? "Decommission device channel (signed crypto-erase command, device firmware erase)" : "Physical destruction (recorded)",
            ToolVersion = ToolVersion,
            VerificationMethod = purge
                ? "Device-signed wipe receipt verified against its registered attestation key, command, nonce and expiry; device self-check: decryption after erase"
                : "Witnessed destruction recorded by the operator",
            VerificationResult = purge
                ? $"Passed: receipt verified; self-check {(evidence?.SelfCheckPassed == true ? "could not decrypt any data" : "not reported")}"
                : $"Recorded by {destruction?.PerformedBy}, witnessed by {destruction?.Witness}",
            PostSanitizationDestination = options.Value.PostSanitizationDestination,
            PerformedBy = purge ? $"Device {order.DeviceId} (crypto-erase commanded by the Decommission service)" : destruction?.PerformedBy ?? "",
            ValidatedBy = purge ? "Decommission device gateway (automated receipt verification)" : destruction?.Witness ?? "",
            Witness = destruction?.Witness ?? "",
            RequestedAt = order.RequestedAt,
            SanitizedAt = evidence?.CompletedAt ?? destruction?.DestroyedAt ?? now,
            Location = string.IsNullOrWhiteSpace(destruction?.Location) ? order.Device.Site : destruction.Location,
            Reason = order.Reason,
            RequestedBy = order.RequestedBy,
            DestroyedKeyIds = evidence?.DestroyedKeyIds ?? [],
            AreasCovered = evidence?.AreasCovered ?? [],
            AreasNotCovered = evidence?.AreasNotCovered ?? [],
            ReceiptSha256 = evidence?.ReceiptSha256 ?? "",
            RevokedCredentials = order.RevokedCredentials.Select(c => $"{c.Kind} {c.CredentialId} revoked {c.RevokedAt:yyyy-MM-dd HH:mm:ss}Z").ToList(),
            IdentityCertificateSerial = order.IdentityCertificateSerial,
            AuditTrail = order.AuditTrail.Select(e =>
                $"{e.At.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z {e.FromState} → {e.ToState} on {e.Event} by {e.Actor}{(string.IsNullOrEmpty(e.Detail) ? "" : $" ({e.Detail})")}").ToList(),
        };
    }
}

/// <summary>The JSON twin: the certificate's facts, the SHA-256 of its PDF, and who signed it.</summary>
public sealed record CertificateJson(CertificateDocument Certificate, string PdfSha256, string SignedBy, string SignerThumbprint);
