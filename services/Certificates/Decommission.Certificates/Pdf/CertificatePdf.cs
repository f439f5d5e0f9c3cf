using Decommission.Contracts;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using PdfSharp.Pdf;
using PdfSharp.Pdf.Signatures;

// The benchmark renders with PdfSharpDefaultSigner for reference, through the internal constructor.
[assembly: InternalsVisibleTo("Decommission.Bench.Certificates")]

namespace Decommission.Certificates.Pdf;

/// <summary>
/// Renders a Certificate of Sanitization (NIST SP 800-88 Rev.1 §4.8, Appendix G) as an A4 PDF, signed with a
/// detached CMS signature (adbe.pkcs7.detached) over the whole file when a signing certificate is given.
/// Thread-safe: each call builds its own document.
/// </summary>
public sealed class CertificatePdf
{
    private const string SignatureReason = "Certificate of Sanitization";

    /// <summary>The audit trail may continue onto this page, no further.</summary>
    private const int LastAuditPage = 2;

    // A signer sizes its signature once by signing a byte; one signer per certificate pays that once.
    private readonly ConditionalWeakTable<X509Certificate2, IDigitalSigner> _signers = new();
    private readonly Func<X509Certificate2, IDigitalSigner> _createSigner;

    public CertificatePdf()
        : this(certificate => new CertificateSigner(certificate))
    {
    }

    /// <summary>Signs with another PDFsharp signer: ops/bench compares ours with PdfSharpDefaultSigner.</summary>
    internal CertificatePdf(Func<X509Certificate2, IDigitalSigner> createSigner)
    {
        _createSigner = createSigner;
        CertificateFonts.Install();
    }

    /// <summary>The certificate without a signature (same layout).</summary>
    public byte[] Render(CertificateDocument document) => Render(document, null);

    /// <param name="signingCertificate">RSA or ECDSA certificate with its private key; null for an unsigned PDF.</param>
    public byte[] Render(CertificateDocument document, X509Certificate2? signingCertificate)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (signingCertificate is not null && !signingCertificate.HasPrivateKey)
            throw new ArgumentException("The signing certificate has no private key.", nameof(signingCertificate));

        using var pdf = new PdfDocument();
        pdf.Info.Title = $"Certificate of Sanitization {document.CertificateId}";
        pdf.Info.Subject = document.CertificateId;
        pdf.Info.Author = "Decommission";
        pdf.Info.Creator = "Decommission";
        pdf.Info.CreationDate = document.IssuedAt.UtcDateTime;
        pdf.Options.CompressContentStreams = true;

        using (var flow = new CertificatePageFlow(pdf))
        {
            Compose(flow, document, signingCertificate);
            flow.Finish($"Certificate of Sanitization {document.CertificateId}");
        }

        if (signingCertificate is not null)
        {
            var signer = _signers.GetValue(signingCertificate, c => _createSigner(c));
            DigitalSignatureHandler.ForDocument(pdf, signer, new DigitalSignatureOptions
            {
                ContactInfo = "Decommission disposal authority",
                Location = "Decommission certificates service",
                Reason = SignatureReason,
                AppName = "Decommission",
            });
        }

        using var output = new MemoryStream();
        pdf.Save(output, closeStream: false);
        return output.ToArray();
    }

    private static void Compose(CertificatePageFlow flow, CertificateDocument d, X509Certificate2? signingCertificate)
    {
        flow.Title("Certificate of Sanitization",
            "Media sanitization record per NIST SP 800-88 Rev.1, Appendix G. Issued by Decommission.",
            signingCertificate is null
                ? "Unsigned copy: this file carries no digital signature and is not evidence of sanitization."
                : $"Digitally signed by {signingCertificate.Subject} (serial {signingCertificate.SerialNumber}); the signature covers this whole file.");
        flow.Row("Certificate ID", d.CertificateId);
        flow.Row("Retirement ID", d.RetirementId.ToString());

        flow.Section("Media");
        flow.Row("Manufacturer", Text(d.Manufacturer));
        flow.Row("Model", Text(d.Model));
        flow.Row("Serial number", Text(d.SerialNumber));
        flow.Row("Asset number", Text(d.AssetNumber));
        flow.Row("Media type", Text(d.MediaType));
        flow.Row("Media source", Text(d.MediaSource));
        flow.Row("Device ID", Text(d.DeviceId));

        flow.Section("Sanitization");
        flow.Row("Sanitization type", Text(d.SanitizationType));
        flow.Row("Method", Text(d.Method));
        flow.Row("Tool", Text(d.Tool));
        flow.Row("Tool version", Text(d.ToolVersion));
        flow.Row("Verification method", Text(d.VerificationMethod));
        flow.Row("Verification result", Text(d.VerificationResult));
        flow.Row("Post-sanitization destination", Text(d.PostSanitizationDestination));

        flow.Section("Performed and validated");
        flow.Row("Performed by", Text(d.PerformedBy));
        flow.Row("Validated by", Text(d.ValidatedBy));
        flow.Row("Witness", Text(d.Witness, "none"));
        flow.Row("Requested at", Time(d.RequestedAt));
        if (d.SanitizationType == SanitizationTypes.Purge)
        {
            flow.Row("Command issued (gateway's clock)", Time(d.CommandIssuedAt));
            flow.Row("Sanitized at (device's clock)", Time(d.SanitizedAt));
            // One line on page one: the JSON twin's timeSources says the same at length.
            flow.Row("Receipt received (gateway's clock)", d.ReceiptReceivedAt is null ? Time(null) : $"{Time(d.ReceiptReceivedAt)} ({ReceivedNote})");
        }
        else
        {
            flow.Row("Sanitized at", Time(d.SanitizedAt));
        }
        flow.Row("Issued at", Time(d.IssuedAt));
        flow.Row("Location", Text(d.Location));
        flow.Row("Reason", Text(d.Reason));
        flow.Row("Requested by", Text(d.RequestedBy));

        flow.Section("Evidence");
        flow.Row("Destroyed key IDs", List(d.DestroyedKeyIds));
        flow.Row("Areas covered", List(d.AreasCovered));
        flow.Row("Areas not covered", List(d.AreasNotCovered));
        flow.Digest("Receipt SHA-256", Text(d.ReceiptSha256, "none"));
        if (d.SanitizationType == SanitizationTypes.Purge)
        {
            // What an auditor checks the JSON twin's evidence against (README: "What a certificate proves").
            flow.Digest("Erase command SHA-256", Text(d.CommandSha256, "none"));
            flow.Digest("Identity certificate SHA-256", Text(d.IdentityCertificateSha256, "none"));
            flow.Digest("Device key ID (receipt)", Text(d.DeviceKeyId, "none"));
            flow.Digest("Gateway key ID (command)", Text(d.CommandKeyId, "none"));
        }
        else
        {
            flow.Row("Destruction record", Text(d.DestructionRecordId, "none"));
        }
        flow.Row("Credentials revoked", List(d.RevokedCredentials));
        flow.Row("Identity certificate serial", Text(d.IdentityCertificateSerial));

        flow.Section($"Audit trail ({d.AuditTrail.Count} {(d.AuditTrail.Count == 1 ? "entry" : "entries")})");
        flow.Entries(d.AuditTrail.Count == 0 ? ["none recorded"] : d.AuditTrail, LastAuditPage,
            more => $"… and {more} more {(more == 1 ? "entry" : "entries")}, see the JSON record");
    }

    /// <summary>What the receipt's time on the certificate rests on: the gateway's word, not the device's signature.</summary>
    public const string ReceivedNote = "not part of the device-signed receipt";

    private static string Text(string value, string absent = "not recorded") => string.IsNullOrWhiteSpace(value) ? absent : value;

    private static IReadOnlyList<string> List(IReadOnlyList<string> values) => values.Count == 0 ? ["none"] : values;

    private static string Time(DateTimeOffset? value) =>
        value is not { } time || time == default ? "not recorded" : time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
