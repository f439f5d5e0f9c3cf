using System.Security.Cryptography;
using System.Text.Json;
using Decommission.Certificates.Pdf;
using Decommission.Contracts;
using Decommission.DeviceProtocol;

namespace Decommission.Certificates.Issuing;

/// <summary>What an uploaded PDF is: one of ours, intact and on record; one whose signature no longer matches; or not ours.</summary>
public sealed record VerificationResult(string Verdict, string? CertificateId, string Detail)
{
    public const string Valid = "valid";
    public const string SignatureInvalid = "signature-invalid";
    public const string NotOurs = "not-ours";
    /// <summary>Ours and intact, but the erase evidence it carries no longer verifies against the fleet CA and the gateway's key.</summary>
    public const string EvidenceInvalid = "evidence-invalid";
}

public sealed class CertificateVerification(CertificateStore certificates, CertificateArchive archive, SigningIdentity signing, EvidenceTrust trust)
{
    public async Task<VerificationResult> VerifyAsync(ReadOnlyMemory<byte> pdf, CancellationToken cancellationToken)
    {
        var check = PdfSignatureVerifier.Check(pdf.Span);
        if (!check.Signed)
            return new(VerificationResult.NotOurs, null, $"not a signed disposal certificate: {check.Problem}");
        if (!check.SignatureValid)
            return new(VerificationResult.SignatureInvalid, null, $"the signature does not verify: {check.Problem}");
        if (check.Signer is null || !signing.IsOurs(check.Signer))
            return new(VerificationResult.NotOurs, null, $"signed by {check.Signer?.Subject ?? "an unknown signer"}, not by our disposal authority");

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(pdf.Span));
        var record = await certificates.FindByPdfSha256Async(sha256, cancellationToken);
        if (record is null)
            return new(VerificationResult.NotOurs, null, "signed by our disposal authority but matching no certificate on record");
        if (record.SanitizationType == SanitizationTypes.Purge && await EvidenceProblemAsync(record, cancellationToken) is { } problem)
            return new(VerificationResult.EvidenceInvalid, record.CertificateId,
                $"signature valid and on record, but its erase evidence does not verify: {problem.Check}: {problem.Detail}");
        return new(VerificationResult.Valid, record.CertificateId,
            $"signature valid and identical to certificate {record.CertificateId} issued {record.IssuedAt:u} for {record.DeviceId}"
            + (record.SanitizationType == SanitizationTypes.Purge ? "; its erase evidence verifies" : ""));
    }

    /// <summary>Runs the issuing check again on the evidence the JSON twin carries.</summary>
    private async Task<WipeEvidenceProblem?> EvidenceProblemAsync(CertificateRecord record, CancellationToken cancellationToken)
    {
        CertificateJson? twin;
        try
        {
            twin = JsonSerializer.Deserialize<CertificateJson>(await archive.ReadJsonAsync(record, cancellationToken), CertificateIssuer.Json);
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException)
        {
            return new WipeEvidenceProblem(WipeEvidenceChecks.Malformed, $"the certificate's JSON record cannot be read: {e.Message}");
        }
        if (twin?.Evidence is not { } evidence)
            return new WipeEvidenceProblem(WipeEvidenceChecks.Malformed, "the certificate's JSON record carries no erase evidence");
        return trust.Verify(new ErasureEvidence
        {
            Receipt = evidence.Receipt, ReceiptSha256 = twin.Certificate.ReceiptSha256, Command = evidence.Command, IdentityCertificate = evidence.IdentityCertificate,
        }, record.DeviceId, record.RetirementId).Problem;
    }
}
