using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using PdfSharp.Pdf.Signatures;

namespace Decommission.Certificates.Pdf;

/// <summary>
/// Signs a PDF for PDFsharp with a detached CMS signature (adbe.pkcs7.detached): SHA-256, RSA (PKCS#1 v1.5) or ECDSA,
/// the signing certificate embedded and nothing else, the signing time as an unsigned attribute as PDFsharp's own
/// signer writes it. Unlike PdfSharpDefaultSigner it never builds a certificate chain, which cost about 0.5 ms a signature.
/// Thread-safe: one instance per certificate serves every document.
/// </summary>
public sealed class CertificateSigner : IDigitalSigner
{
    private const string RsaKey = "1.2.840.113549.1.1.1";
    private const string EcKey = "1.2.840.10045.2.1";
    private const string Sha256 = "2.16.840.1.101.3.4.2.1";

    // What may grow after the sizing signature: a DER ECDSA value by 2 bytes (r and s are 32 or 33 bytes each, rarely
    // fewer), the signing time by 2 (UTCTime becomes GeneralizedTime in 2050, RFC 5652 §11.3), five enclosing lengths by a byte each.
    private const int SizeMargin = 32;

    private readonly X509Certificate2 _certificate;
    private readonly Lazy<int> _signatureSize;

    /// <param name="certificate">RSA or ECDSA certificate with its private key.</param>
    public CertificateSigner(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
            throw new ArgumentException("The signing certificate has no private key.", nameof(certificate));
        if (certificate.GetKeyAlgorithm() is not (RsaKey or EcKey))
            throw new ArgumentException($"The signing certificate's key ({certificate.PublicKey.Oid.FriendlyName ?? certificate.GetKeyAlgorithm()}) is neither RSA nor ECDSA.", nameof(certificate));
        _certificate = certificate;
        // Sized once by signing one byte: the length depends on the certificate and key, not on the content signed.
        _signatureSize = new(() => Sign([0]).Length + SizeMargin);
    }

    /// <summary>The certificate's simple name, shown by PDFsharp as the signer.</summary>
    public string CertificateName => _certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);

    /// <summary>The bytes PDFsharp reserves in /Contents for the signature: never less than any signature this signer makes.</summary>
    public Task<int> GetSignatureSizeAsync() => Task.FromResult(_signatureSize.Value);

    /// <summary>The DER-encoded CMS SignedData over <paramref name="stream"/>, the PDF without its /Contents value.</summary>
    public Task<byte[]> GetSignatureAsync(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var content = new byte[stream.Length];
        stream.Position = 0;
        // One read of the whole length: PDFsharp's ranged stream copies its ranges at once then, and byte by byte otherwise.
        stream.ReadExactly(content, 0, content.Length);

        var signature = Sign(content);
        if (signature.Length > _signatureSize.Value)
            throw new CryptographicException(
                $"The signature is {signature.Length} bytes, more than the {_signatureSize.Value} reserved for it in the PDF.");
        return Task.FromResult(signature);
    }

    private byte[] Sign(byte[] content)
    {
        var cms = new SignedCms(new ContentInfo(content), detached: true);
        var signer = new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, _certificate)
        {
            DigestAlgorithm = new Oid(Sha256),
            IncludeOption = X509IncludeOption.EndCertOnly,
        };
        signer.UnsignedAttributes.Add(new Pkcs9SigningTime(DateTime.UtcNow));
        cms.ComputeSignature(signer, silent: true);
        return cms.Encode();
    }
}
