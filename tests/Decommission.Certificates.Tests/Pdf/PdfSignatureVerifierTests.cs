using System.Security.Cryptography.Pkcs;
using System.Text;
using System.Text.RegularExpressions;
using Decommission.Certificates.Pdf;

namespace Decommission.Certificates.Tests.Pdf;

public sealed class PdfSignatureVerifierTests
{
    private static readonly CertificatePdf Pdf = new();

    [Theory]
    [InlineData("RSA-3072")]
    [InlineData("ECDSA-P256")]
    public void A_signed_certificate_verifies_and_names_its_signer(string keyType)
    {
        using var certificate = TestSigningCertificates.Create(keyType);

        var check = PdfSignatureVerifier.Check(Pdf.Render(SampleCertificates.Purge(), certificate));

        Assert.True(check.Signed);
        Assert.True(check.SignatureValid, check.Problem);
        Assert.Equal("", check.Problem);
        Assert.Equal(certificate.Thumbprint, check.Signer?.Thumbprint);
    }

    [Theory]
    [InlineData("RSA-3072")]
    [InlineData("ECDSA-P256")]
    public void The_signature_is_a_detached_cms_over_the_whole_file(string keyType)
    {
        using var certificate = TestSigningCertificates.Create(keyType);
        var pdf = Encoding.Latin1.GetString(Pdf.Render(SampleCertificates.Purge(), certificate));

        Assert.Matches(@"/SubFilter\s*/adbe\.pkcs7\.detached", pdf);
        Assert.Matches(@"/Reason\s*\(Certificate of Sanitization\)", pdf);
    }

    [Theory]
    [InlineData("RSA-3072", 0.1)]
    [InlineData("RSA-3072", 0.5)]
    [InlineData("RSA-3072", 0.999)]
    [InlineData("ECDSA-P256", 0.1)]
    [InlineData("ECDSA-P256", 0.5)]
    [InlineData("ECDSA-P256", 0.999)]
    public void One_byte_changed_in_the_signed_range_breaks_the_signature(string keyType, double where)
    {
        using var certificate = TestSigningCertificates.Create(keyType);
        var pdf = Pdf.Render(SampleCertificates.Purge(), certificate);
        var position = SignedPositionNear(pdf, where);

        pdf[position] ^= 0x01;
        var check = PdfSignatureVerifier.Check(pdf);

        Assert.True(check.Signed);
        Assert.False(check.SignatureValid);
        Assert.Equal("signature does not match the content", check.Problem);
    }

    [Theory]
    [InlineData("RSA-3072")]
    [InlineData("ECDSA-P256")]
    public void A_changed_signature_value_does_not_verify(string keyType)
    {
        using var certificate = TestSigningCertificates.Create(keyType);
        var pdf = Pdf.Render(SampleCertificates.Purge(), certificate);
        var hexStart = ContentsHexStart(pdf);
        var hex = Encoding.ASCII.GetString(pdf, hexStart, Array.IndexOf(pdf, (byte)'>', hexStart) - hexStart);
        var cms = new SignedCms();
        cms.Decode(Convert.FromHexString(hex.TrimEnd('0').PadRight(hex.TrimEnd('0').Length + hex.TrimEnd('0').Length % 2, '0')));
        var signatureHex = Convert.ToHexString(cms.SignerInfos[0].GetSignature());
        // The value's last digit: part of the RSA signature or of ECDSA's s, never a DER header.
        var at = hexStart + hex.IndexOf(signatureHex, StringComparison.Ordinal) + signatureHex.Length - 1;

        pdf[at] = (byte)(pdf[at] == (byte)'A' ? 'B' : 'A');
        var check = PdfSignatureVerifier.Check(pdf);

        Assert.True(check.Signed);
        Assert.False(check.SignatureValid);
        Assert.Equal("signature does not match the content", check.Problem);
    }

    [Fact]
    public void An_unsigned_pdf_is_not_signed()
    {
        var check = PdfSignatureVerifier.Check(Pdf.Render(SampleCertificates.Purge()));

        Assert.False(check.Signed);
        Assert.False(check.SignatureValid);
        Assert.Null(check.Signer);
        Assert.Equal("no signature", check.Problem);
    }

    [Fact]
    public void Bytes_appended_after_signing_are_not_covered()
    {
        using var certificate = TestSigningCertificates.Rsa3072();
        var pdf = Pdf.Render(SampleCertificates.Purge(), certificate);
        // What an incremental update (e.g. an edited field) looks like to the byte range.
        var updated = pdf.Concat(Encoding.ASCII.GetBytes("\n1 0 obj\n<< /Title (forged) >>\nendobj\n%%EOF\n")).ToArray();

        var check = PdfSignatureVerifier.Check(updated);

        Assert.True(check.Signed);
        Assert.False(check.SignatureValid);
        Assert.Equal("byte range does not cover the whole file", check.Problem);
    }

    [Fact]
    public void A_byte_range_that_leaves_a_gap_other_than_the_signature_is_refused()
    {
        using var certificate = TestSigningCertificates.Rsa3072();
        var pdf = Pdf.Render(SampleCertificates.Purge(), certificate);
        var text = Encoding.Latin1.GetString(pdf);
        var at = text.LastIndexOf("/ByteRange", StringComparison.Ordinal);
        var open = text.IndexOf('[', at);
        var close = text.IndexOf(']', open);
        var numbers = text[(open + 1)..close].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
        // Leave 10 more bytes before the signature unsigned, keeping the array the same length in the file.
        var forged = $"[{numbers[0]} {numbers[1] - 10} {numbers[2]} {numbers[3]}]".PadRight(close - open + 1);
        Encoding.ASCII.GetBytes(forged).CopyTo(pdf, open);

        var check = PdfSignatureVerifier.Check(pdf);

        Assert.False(check.SignatureValid);
        Assert.Equal("byte range does not exclude exactly the signature's /Contents", check.Problem);
    }

    [Theory]
    [InlineData("/ByteRange[0 10 20 5]", "byte range does not cover the whole file")]
    [InlineData("/ByteRange [ 0 x 20 5 ]", "the signature's byte range cannot be read")]
    [InlineData("/ByteRanges [0 1 2 3]", "no signature")]
    [InlineData("%PDF-1.7 nothing here", "no signature")]
    public void Malformed_signatures_are_reported_not_thrown(string content, string problem)
    {
        var check = PdfSignatureVerifier.Check(Encoding.ASCII.GetBytes(content));

        Assert.False(check.SignatureValid);
        Assert.Equal(problem, check.Problem);
    }

    [Fact]
    public void Whitespace_variants_of_the_byte_range_are_read()
    {
        using var certificate = TestSigningCertificates.Rsa3072();
        var pdf = Pdf.Render(SampleCertificates.Purge(), certificate);
        var text = Encoding.Latin1.GetString(pdf);
        var at = text.LastIndexOf("/ByteRange", StringComparison.Ordinal) + "/ByteRange".Length;
        var close = text.IndexOf(']', at);
        var end = close + 1;
        while (text[end] == ' ')
            end++; // PDFsharp pads the array with spaces to its placeholder's length
        var numbers = text[(text.IndexOf('[', at) + 1)..close].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var respaced = $" [\n{numbers[0]}\t{numbers[1]}\r\n{numbers[2]}\f{numbers[3]} ]";
        Assert.True(respaced.Length <= end - at, "test setup: the respaced byte range must fit where the old one was");
        Encoding.ASCII.GetBytes(respaced.PadRight(end - at)).CopyTo(pdf, at);

        // The byte range is part of the signed bytes, so the signature no longer matches — but it is read, not refused.
        var check = PdfSignatureVerifier.Check(pdf);

        Assert.True(check.Signed);
        Assert.Equal("signature does not match the content", check.Problem);
    }

    /// <summary>Where the hex digits of the last signature's /Contents start.</summary>
    private static int ContentsHexStart(byte[] pdf) =>
        Regex.Matches(Encoding.Latin1.GetString(pdf), @"/Contents\s*<")[^1] is { } match ? match.Index + match.Length : -1;

    /// <summary>A position inside the signed bytes (outside the /Contents hex string) near the given fraction of the file.</summary>
    private static int SignedPositionNear(byte[] pdf, double fraction)
    {
        var contentsStart = ContentsHexStart(pdf) - 1;
        var contentsEnd = Array.IndexOf(pdf, (byte)'>', contentsStart) + 1;
        var position = (int)(pdf.Length * fraction);
        // Keep clear of the signature dictionary itself: damaging its /ByteRange key makes the file read as unsigned.
        if (position >= contentsStart - 512 && position < contentsEnd + 512)
            position = contentsEnd + 512;
        return Math.Min(position, pdf.Length - 1);
    }
}
