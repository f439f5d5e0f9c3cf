using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Decommission.Certificates.Pdf;

namespace Decommission.Certificates.Tests.Pdf;

public sealed class CertificateSignerTests
{
    private static readonly CertificatePdf Pdf = new();

    [Theory]
    [InlineData("RSA-3072", "1.2.840.113549.1.1.1")] // rsaEncryption: PKCS#1 v1.5 (RFC 3370 §3.2)
    [InlineData("ECDSA-P256", "1.2.840.10045.4.3.2")] // ecdsa-with-SHA256 (RFC 5753 §2.1.1)
    public void The_signature_carries_the_signing_certificate_alone_a_sha256_digest_and_the_signing_time(string keyType, string signatureAlgorithm)
    {
        var (authority, signing) = TestSigningCertificates.IssuedByAuthority(keyType);
        using var _ = authority;
        using var __ = signing;
        var before = DateTime.UtcNow.AddSeconds(-1);

        var cms = SignatureOf(Pdf.Render(SampleCertificates.Purge(), signing));

        Assert.Empty(cms.ContentInfo.Content); // detached: the signed bytes are the PDF around the signature, not in it
        var embedded = Assert.Single(cms.Certificates);
        Assert.Equal(signing.Thumbprint, embedded.Thumbprint);
        var signer = Assert.IsType<SignerInfo>(Assert.Single(cms.SignerInfos));
        Assert.Equal("2.16.840.1.101.3.4.2.1", signer.DigestAlgorithm.Value); // SHA-256
        Assert.Equal(signatureAlgorithm, signer.SignatureAlgorithm.Value);
        // Where PDFsharp's own signer puts the signing time; the signed /M entry of the signature dictionary says it too.
        var attribute = Assert.IsType<CryptographicAttributeObject>(Assert.Single(signer.UnsignedAttributes));
        var signingTime = Assert.IsType<Pkcs9SigningTime>(Assert.Single(attribute.Values));
        Assert.InRange(signingTime.SigningTime, before, DateTime.UtcNow.AddSeconds(1));
    }

    [Theory]
    [InlineData("RSA-3072", 100)]
    [InlineData("ECDSA-P256", 1000)]
    public async Task Every_signature_fits_the_space_reserved_for_it_without_wasting_much(string keyType, int signatures)
    {
        using var certificate = TestSigningCertificates.Create(keyType);
        var signer = new CertificateSigner(certificate);
        var reserved = await signer.GetSignatureSizeAsync();

        for (var i = 0; i < signatures; i++)
        {
            var signature = await signer.GetSignatureAsync(new MemoryStream(RandomNumberGenerator.GetBytes(1 + i * 37)));
            Assert.InRange(signature.Length, reserved - 64, reserved);
        }
    }

    [Fact]
    public void One_signer_signs_from_many_threads_at_once()
    {
        using var certificate = TestSigningCertificates.EcdsaP256();
        var signer = new CertificateSigner(certificate);
        var contents = Enumerable.Range(0, 64).Select(i => RandomNumberGenerator.GetBytes(1000 + i)).ToList();

        var sizes = new int[contents.Count];
        var signatures = new byte[contents.Count][];
        Parallel.For(0, contents.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            sizes[i] = signer.GetSignatureSizeAsync().GetAwaiter().GetResult();
            signatures[i] = signer.GetSignatureAsync(new MemoryStream(contents[i])).GetAwaiter().GetResult();
        });

        Assert.Single(sizes.Distinct());
        for (var i = 0; i < contents.Count; i++)
        {
            var cms = new SignedCms(new ContentInfo(contents[i]), detached: true);
            cms.Decode(signatures[i]);
            cms.CheckSignature(verifySignatureOnly: true); // throws when the signature is not over this content
            Assert.Equal(certificate.Thumbprint, cms.SignerInfos[0].Certificate?.Thumbprint);
        }
    }

    [Fact]
    public void A_certificate_without_its_private_key_is_refused()
    {
        using var certificate = TestSigningCertificates.EcdsaP256();
        using var publicOnly = X509CertificateLoader.LoadCertificate(certificate.RawData);

        var refused = Assert.Throws<ArgumentException>(() => new CertificateSigner(publicOnly));
        Assert.Contains("no private key", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>The CMS message in the last signature's /Contents, without the zeros padding it to its reserved size.</summary>
    private static SignedCms SignatureOf(byte[] pdf)
    {
        var contents = Regex.Matches(Encoding.Latin1.GetString(pdf), @"/Contents\s*<([0-9A-Fa-f]+)>")[^1].Groups[1].Value;
        var bytes = Convert.FromHexString(contents);
        AsnDecoder.ReadEncodedValue(bytes, AsnEncodingRules.DER, out _, out _, out var length);
        var cms = new SignedCms();
        cms.Decode(bytes.AsSpan(0, length));
        return cms;
    }
}
