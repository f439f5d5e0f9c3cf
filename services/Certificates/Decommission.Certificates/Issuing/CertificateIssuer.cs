using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Decommission.Certificates.Destructions;
using Decommission.Certificates.Pdf;
using Decommission.Contracts;
using Decommission.DeviceProtocol;
using Decommission.ServiceDefaults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Issuing;

/// <summary>
/// Issues the disposal certificate of a retirement: the signed PDF and its JSON twin (same facts plus the PDF's SHA-256),
/// kept by the <see cref="CertificateArchive"/> of the database's engine. One certificate per retirement, however often the order
/// is delivered and however many replicas take it.
/// </summary>
public sealed class CertificateIssuer(CertificateStore certificates, CertificateArchive archive, CertificatePdf pdf, SigningIdentity signing, EvidenceTrust trust,
    DestructionStore destructions, IOptions<CertificatesOptions> options, TimeProvider clock, ILogger<CertificateIssuer> logger, CertificateMetrics metrics)
{
    private int _issuesBegun;

    /// <summary>The twin's JSON: base64 stays as it is ('+' unescaped) so an auditor can cut a field out with sed and decode it with base64 -d.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
    private static readonly string ToolVersion =
        typeof(CertificateIssuer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    /// <summary>Where the certificates' files are (SQLite); on PostgreSQL their bytes are in the database.</summary>
    public string CertificateDirectory => archive is FileCertificateArchive files ? files.Directory : $"the {options.Value.Organisation} certificates database";

    public static string CertificateIdFor(Guid retirementId) => $"DC-{retirementId:N}".ToUpperInvariant();

    /// <summary>
    /// Issues the certificate, or refuses: a Purge only on evidence verified here from its bytes (and one certificate per
    /// erase command), a Destroy only on a destruction recorded and witnessed by two API keys.
    /// </summary>
    public async Task<IssueOutcome> IssueAsync(IssueDisposalCertificate order, CancellationToken cancellationToken)
    {
        if (await archive.FindIssuedAsync(order.RetirementId, cancellationToken) is { } issued)
            return IssueOutcome.Issued(issued);
        await using var lease = await archive.BeginIssueAsync(order.RetirementId, cancellationToken);
        // A concurrent delivery of the same order (here or on another replica) may have issued it while this one waited.
        if (await archive.FindIssuedAsync(order.RetirementId, cancellationToken) is { } theirs)
            return IssueOutcome.Issued(theirs);
        return await IssueNewAsync(order, lease, cancellationToken);
    }

    private async Task<IssueOutcome> IssueNewAsync(IssueDisposalCertificate order, IssueLease lease, CancellationToken cancellationToken)
    {
        VerifiedWipe? wipe = null;
        DestructionRecord? destruction = null;
        switch (order.SanitizationType)
        {
            case SanitizationTypes.Purge:
                var (verified, problem) = trust.Verify(order.Evidence, order.DeviceId, order.RetirementId);
                if (problem is not null)
                    return Refuse(order, problem.Check, problem.Detail);
                wipe = verified!;
                if (await certificates.CertifiedElsewhereAsync(wipe.Command.CommandId, order.RetirementId, cancellationToken) is { } other)
                    return Refuse(order, IssueRefusals.EraseCommandAlreadyCertified, $"erase command {wipe.Command.CommandId} is already certified by {other}");
                break;
            case SanitizationTypes.Destroy:
                destruction = await destructions.FindWitnessedAsync(order.RetirementId, order.DeviceId, cancellationToken);
                if (destruction is null)
                    return Refuse(order, IssueRefusals.NoWitnessedDestruction,
                        $"no destruction of device {order.DeviceId} for retirement {order.RetirementId} was recorded and witnessed through the certificates API");
                break;
            default:
                return Refuse(order, IssueRefusals.UnknownSanitizationType, $"sanitization type {order.SanitizationType} is neither Purge nor Destroy");
        }

        var now = clock.GetUtcNow();
        var document = Describe(order, wipe, destruction, now);
        var pdfBytes = pdf.Render(document, signing.Certificate);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(pdfBytes));
        var twin = JsonSerializer.SerializeToUtf8Bytes(new CertificateJson(document, sha256, signing.Certificate.Subject, signing.Certificate.Thumbprint,
            wipe is null ? null : CertificateEvidence.From(wipe)), Json);

        metrics.Signed();

        var pauseAt = CrashTestPauseFor(Interlocked.Increment(ref _issuesBegun) - 1);
        var stored = await lease.StoreAsync(new IssuedCertificate(document.CertificateId, order.RetirementId, document.DeviceId, document.SanitizationType, now,
                sha256, null, null, wipe?.Command.CommandId), pdfBytes, twin, step => PauseForCrashTestAsync(step, pauseAt, document.CertificateId, cancellationToken),
            cancellationToken);
        if (!stored)
        {
            // Another retirement certified the erase command meanwhile (this one's row cannot exist: it holds the retirement's lease).
            return await certificates.FindByRetirementAsync(order.RetirementId, cancellationToken) is { } theirs
                ? IssueOutcome.Issued(theirs)
                : Refuse(order, IssueRefusals.EraseCommandAlreadyCertified, $"erase command {wipe?.Command.CommandId} is already certified by another retirement");
        }
        await PauseForCrashTestAsync(IssueStep.RowWritten, pauseAt, document.CertificateId, cancellationToken);
        logger.LogInformation("Issued disposal certificate {CertificateId} ({Type}) for {DeviceId}", document.CertificateId, document.SanitizationType,
            UntrustedText.Safe(document.DeviceId));
        metrics.Issued(document.SanitizationType);
        return IssueOutcome.Issued((await certificates.FindByRetirementAsync(order.RetirementId, cancellationToken))!);
    }

    /// <summary>Certificates:CrashTestPauseAt (crash tests only): where the n-th issue of this process stops, if anywhere.</summary>
    private IssueStep? CrashTestPauseFor(int issue) =>
        issue < options.Value.CrashTestPauseAt.Count ? options.Value.CrashTestPauseAt[issue] : null;

    /// <summary>Stops this issue for good when it reached the step it is to stop at, for a crash test to kill the process there.</summary>
    private async Task PauseForCrashTestAsync(IssueStep step, IssueStep? pauseAt, string certificateId, CancellationToken cancellationToken)
    {
        if (pauseAt != step)
            return;
        logger.LogWarning("Crash test: issuing {CertificateId} paused at {Step} until the process is killed", certificateId, step);
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    private const string GatewayTimes = "Sanitized at: the device's claim, signed in its receipt. Command issued: signed by the gateway in the command. "
        + "Receipt received: stated by the gateway from its own clock, not part of the device-signed bytes.";

    private IssueOutcome Refuse(IssueDisposalCertificate order, string reason, string detail)
    {
        logger.LogWarning("Refused a {Type} certificate for {DeviceId} (retirement {RetirementId}): {Reason}: {Detail}", UntrustedText.Safe(order.SanitizationType),
            UntrustedText.Safe(order.DeviceId), order.RetirementId, reason, UntrustedText.Safe(detail));
        return IssueOutcome.Refused(reason, UntrustedText.Safe(detail));
    }

    /// <summary>The certificate's facts, as NIST SP 800-88 Rev.1 Appendix G names them: the erase's from the verified receipt, the
    /// destruction's from the witnessed record, never from the order.</summary>
    private CertificateDocument Describe(IssueDisposalCertificate order, VerifiedWipe? wipe, DestructionRecord? destruction, DateTimeOffset now)
    {
        var common = new CertificateDocument
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
            ToolVersion = ToolVersion,
            PostSanitizationDestination = options.Value.PostSanitizationDestination,
            RequestedAt = order.RequestedAt,
            Reason = order.Reason,
            RequestedBy = order.RequestedBy,
            RevokedCredentials = order.RevokedCredentials.Select(c => $"{c.Kind} {c.CredentialId} revoked {c.RevokedAt:yyyy-MM-dd HH:mm:ss}Z").ToList(),
            IdentityCertificateSerial = order.IdentityCertificateSerial,
            AuditTrail = order.AuditTrail.Select(e =>
                $"{e.At.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z {e.FromState} → {e.ToState} on {e.Event} by {e.Actor}{(string.IsNullOrEmpty(e.Detail) ? "" : $" ({e.Detail})")}").ToList(),
        };
        if (wipe is not null)
        {
            using var identity = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(wipe.IdentityCertificate);
            return common with
            {
                SanitizationType = SanitizationTypes.Purge,
                Method = "Cryptographic Erase: every copy of the media encryption key destroyed (NIST SP 800-88 Rev.2)",
                Tool = "Decommission device channel (signed crypto-erase command, device firmware erase)",
                VerificationMethod = "Device-signed wipe receipt verified by the certificates service from its bytes: identity certificate issued by the fleet CA "
                    + "for this device, receipt signed by its key, answering the erase command the gateway signed (command id, nonce, time); "
                    + "device self-check: decryption after erase",
                VerificationResult = "Passed: identity, receipt and command verified; self-check could not decrypt any data",
                PerformedBy = $"Device {order.DeviceId} (crypto-erase commanded by the Decommission service)",
                ValidatedBy = "Decommission certificates service (automated verification of the signed evidence)",
                SanitizedAt = wipe.CompletedAt,
                CommandIssuedAt = ProtocolSigning.TryParseTimestamp(wipe.Command.IssuedAt, out var issuedAt) ? issuedAt : null,
                ReceiptReceivedAt = order.Evidence?.ReceiptReceivedAt,
                TimeSources = GatewayTimes,
                Location = order.Device.Site,
                DestroyedKeyIds = wipe.Receipt.DestroyedKeyIds,
                AreasCovered = wipe.Receipt.AreasCovered,
                AreasNotCovered = wipe.Receipt.AreasNotCovered,
                ReceiptSha256 = Convert.ToHexStringLower(SHA256.HashData(wipe.ReceiptBytes)),
                CommandSha256 = Convert.ToHexStringLower(SHA256.HashData(wipe.CommandBytes)),
                IdentityCertificateSha256 = Convert.ToHexStringLower(SHA256.HashData(wipe.IdentityCertificate)),
                IdentityCertificateSerial = identity.SerialNumber,
                DeviceKeyId = wipe.DeviceKeyId,
                CommandKeyId = wipe.CommandKeyId,
            };
        }
        var record = destruction!;
        return common with
        {
            SanitizationType = SanitizationTypes.Destroy,
            Method = $"Physical destruction: {record.Method}",
            Tool = "Physical destruction (recorded and witnessed)",
            VerificationMethod = "Destruction recorded and witnessed by two different authenticated people (two API keys of the certificates service)",
            VerificationResult = $"Recorded by {record.PerformedBy}, witnessed by {record.Witness}",
            PerformedBy = record.PerformedBy,
            ValidatedBy = record.Witness!,
            Witness = record.Witness!,
            SanitizedAt = record.DestroyedAt,
            Location = record.Location,
            DestructionRecordId = record.RecordId,
        };
    }
}

/// <summary>Issued, or refused with the check that failed (a <see cref="WipeEvidenceChecks"/> name or an <see cref="IssueRefusals"/> one).</summary>
public sealed record IssueOutcome(CertificateRecord? Certificate, string Reason, string Detail)
{
    public static IssueOutcome Issued(CertificateRecord certificate) => new(certificate, "", "");
    public static IssueOutcome Refused(string reason, string detail) => new(null, reason, detail);
}

/// <summary>Refusals besides the evidence checks.</summary>
public static class IssueRefusals
{
    public const string EraseCommandAlreadyCertified = nameof(EraseCommandAlreadyCertified);
    public const string NoWitnessedDestruction = nameof(NoWitnessedDestruction);
    public const string UnknownSanitizationType = nameof(UnknownSanitizationType);
}

/// <summary>The JSON twin: the certificate's facts, the SHA-256 of its PDF, who signed it, and for a Purge the evidence it rests on.</summary>
public sealed record CertificateJson(CertificateDocument Certificate, string PdfSha256, string SignedBy, string SignerThumbprint, CertificateEvidence? Evidence = null);

/// <summary>
/// The signed evidence of a Purge, in forms openssl reads: each document exactly as signed (base64), the bytes its signature
/// covers and the signature as DER ECDSA-Sig-Value, and the identity certificate as PEM. Field names are unique, for sed.
/// </summary>
public sealed record CertificateEvidence
{
    /// <summary>The receipt exactly as the device sent it, base64.</summary>
    public string Receipt { get; init; } = "";
    public WipeReceipt? ReceiptFields { get; init; }
    public string ReceiptSha256 { get; init; } = "";
    public string ReceiptSignedBytes { get; init; } = "";
    public string ReceiptSignatureDer { get; init; } = "";
    public string DeviceKeyId { get; init; } = "";

    /// <summary>The erase command exactly as the gateway sent it, base64.</summary>
    public string Command { get; init; } = "";
    public EraseCommand? CommandFields { get; init; }
    public string CommandSha256 { get; init; } = "";
    public string CommandSignedBytes { get; init; } = "";
    public string CommandSignatureDer { get; init; } = "";
    public string CommandKeyId { get; init; } = "";

    /// <summary>The fleet CA's identity certificate over the device key, base64 DER and PEM.</summary>
    public string IdentityCertificate { get; init; } = "";
    public string IdentityCertificatePem { get; init; } = "";
    public string IdentityCertificateSha256 { get; init; } = "";

    public static CertificateEvidence From(VerifiedWipe wipe) => new()
    {
        Receipt = Convert.ToBase64String(wipe.ReceiptBytes),
        ReceiptFields = wipe.Receipt,
        ReceiptSha256 = Convert.ToHexStringLower(SHA256.HashData(wipe.ReceiptBytes)),
        ReceiptSignedBytes = Convert.ToBase64String(wipe.ReceiptSignedBytes),
        ReceiptSignatureDer = Convert.ToBase64String(ProtocolSigning.ToDerSignature(wipe.Receipt.Signature)),
        DeviceKeyId = wipe.DeviceKeyId,
        Command = Convert.ToBase64String(wipe.CommandBytes),
        CommandFields = wipe.Command,
        CommandSha256 = Convert.ToHexStringLower(SHA256.HashData(wipe.CommandBytes)),
        CommandSignedBytes = Convert.ToBase64String(wipe.CommandSignedBytes),
        CommandSignatureDer = Convert.ToBase64String(ProtocolSigning.ToDerSignature(wipe.Command.Signature)),
        CommandKeyId = wipe.CommandKeyId,
        IdentityCertificate = Convert.ToBase64String(wipe.IdentityCertificate),
        IdentityCertificatePem = PemEncoding.WriteString("CERTIFICATE", wipe.IdentityCertificate) + "\n",
        IdentityCertificateSha256 = Convert.ToHexStringLower(SHA256.HashData(wipe.IdentityCertificate)),
    };
}
