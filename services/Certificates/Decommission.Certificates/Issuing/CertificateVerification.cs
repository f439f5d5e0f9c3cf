using System.Security.Cryptography;
using Decommission.Certificates.Pdf;

namespace Decommission.Certificates.Issuing;

/// <summary>What an uploaded PDF is: one of ours, intact and on record; one whose signature no longer matches; or not ours.</summary>
public sealed record VerificationResult(string Verdict, string? CertificateId, string Detail)
{
    public const string Valid = "valid";
    public const string SignatureInvalid = "signature-invalid";
    public const string NotOurs = "not-ours";
}

public sealed class CertificateVerification(CertificatesDatabase database, SigningIdentity signing)
{
    public async Task<VerificationResult> VerifyAsync(byte[] pdf, CancellationToken cancellationToken)
    {
        var check = PdfSignatureVerifier.Check(pdf);
        if (!check.Signed)
            return new(VerificationResult.NotOurs, null, $"not a signed disposal certificate: {check.Problem}");
        if (!check.SignatureValid)
            return new(VerificationResult.SignatureInvalid, null, $"the signature does not verify: {check.Problem}");
        if (check.Signer is null || !signing.IsOurs(check.Signer))
            return new(VerificationResult.NotOurs, null, $"signed by {check.Signer?.Subject ?? "an unknown signer"}, not by our disposal authority");

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(pdf));
        await using var connection = await database.OpenAsync(cancellationToken);
        var record = await CertificateQueries.FirstAsync(connection, "pdf_sha256 = @Key", sha256);
        return record is null
            ? new(VerificationResult.NotOurs, null, "signed by our disposal authority but matching no certificate on record")
            : new(VerificationResult.Valid, record.CertificateId, $"signature valid and identical to certificate {record.CertificateId} issued {record.IssuedAt:u} for {record.DeviceId}");
    }
}
