using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace Decommission.Certificates.Pdf;

/// <summary>
/// Checks the last signature of an uploaded PDF without trusting anything in it: the byte range must cover the whole
/// file except exactly the signature's /Contents hex string, and the detached CMS signature must verify over those bytes.
/// Reads only the bytes it needs; never parses the rest of the PDF.
/// </summary>
public static class PdfSignatureVerifier
{
    public static PdfSignatureCheck Check(byte[] pdf)
    {
        ArgumentNullException.ThrowIfNull(pdf);
        return Check(pdf.AsSpan());
    }

    public static PdfSignatureCheck Check(ReadOnlySpan<byte> pdf)
    {
        var key = FindLastKey(pdf, "/ByteRange"u8);
        if (key < 0)
            return new(false, false, null, "no signature");

        if (!TryReadByteRange(pdf, key + "/ByteRange".Length, out var range))
            return Invalid("the signature's byte range cannot be read");
        var (firstStart, firstLength, secondStart, secondLength) = range;
        // ISO 32000-1 §12.8.1: the byte range covers the entire file except the /Contents value; an incremental update after signing breaks this.
        if (firstStart != 0 || firstLength <= 0 || secondStart <= firstLength || secondStart + secondLength != pdf.Length)
            return Invalid("byte range does not cover the whole file");

        var gapStart = (int)firstLength;
        var gapEnd = (int)secondStart; // exclusive
        if (pdf[gapStart] != '<' || pdf[gapEnd - 1] != '>' || !PrecededBy(pdf, gapStart, "/Contents"u8))
            return Invalid("byte range does not exclude exactly the signature's /Contents");
        if (!TryDecodeHex(pdf.Slice(gapStart + 1, gapEnd - gapStart - 2), out var contents))
            return Invalid("the signature's /Contents is not a hex string");

        var signedBytes = new byte[firstLength + secondLength];
        pdf[..gapStart].CopyTo(signedBytes);
        pdf[gapEnd..].CopyTo(signedBytes.AsSpan(gapStart));

        var cms = new SignedCms(new ContentInfo(signedBytes), detached: true);
        try
        {
            // The hex string is padded with zeros after the CMS message; decode only the message itself.
            AsnDecoder.ReadEncodedValue(contents, AsnEncodingRules.BER, out _, out _, out var messageLength);
            cms.Decode(contents.AsSpan(0, messageLength));
        }
        catch (Exception e) when (e is CryptographicException or AsnContentException)
        {
            return Invalid("the signature is not a CMS message");
        }

        if (cms.SignerInfos.Count != 1)
            return Invalid($"the signature has {cms.SignerInfos.Count} signers, expected one");
        var signer = cms.SignerInfos[0].Certificate;
        if (signer is null)
            return Invalid("the signature does not include the signer's certificate");
        try
        {
            cms.CheckSignature(verifySignatureOnly: true);
        }
        catch (CryptographicException)
        {
            return new(true, false, signer, "signature does not match the content");
        }
        return new(true, true, signer, "");
    }

    private static PdfSignatureCheck Invalid(string problem) => new(true, false, null, problem);

    /// <summary>The last occurrence of a name as a whole token (so "/ByteRange" does not match "/ByteRanges").</summary>
    private static int FindLastKey(ReadOnlySpan<byte> pdf, ReadOnlySpan<byte> name)
    {
        var end = pdf.Length;
        while (end > 0)
        {
            var at = pdf[..end].LastIndexOf(name);
            if (at < 0)
                return -1;
            var next = at + name.Length;
            if (next >= pdf.Length || IsWhitespace(pdf[next]) || IsDelimiter(pdf[next]))
                return at;
            end = at;
        }
        return -1;
    }

    /// <summary>Reads "[a b c d]" with any PDF whitespace around the numbers.</summary>
    private static bool TryReadByteRange(ReadOnlySpan<byte> pdf, int position, out (long, long, long, long) range)
    {
        range = default;
        position = SkipWhitespace(pdf, position);
        if (position >= pdf.Length || pdf[position] != '[')
            return false;
        position++;
        Span<long> numbers = stackalloc long[4];
        for (var i = 0; i < 4; i++)
        {
            position = SkipWhitespace(pdf, position);
            var start = position;
            long value = 0;
            while (position < pdf.Length && pdf[position] is >= (byte)'0' and <= (byte)'9')
            {
                value = value * 10 + (pdf[position] - '0');
                if (value > pdf.Length)
                    return false;
                position++;
            }
            if (position == start)
                return false;
            numbers[i] = value;
        }
        position = SkipWhitespace(pdf, position);
        if (position >= pdf.Length || pdf[position] != ']')
            return false;
        range = (numbers[0], numbers[1], numbers[2], numbers[3]);
        return true;
    }

    private static bool PrecededBy(ReadOnlySpan<byte> pdf, int position, ReadOnlySpan<byte> name)
    {
        var end = position;
        while (end > 0 && IsWhitespace(pdf[end - 1]))
            end--;
        return end >= name.Length && pdf.Slice(end - name.Length, name.Length).SequenceEqual(name);
    }

    /// <summary>A PDF hex string body: hex digits and whitespace; an odd final digit counts as followed by 0 (ISO 32000-1 §7.3.4.3).</summary>
    private static bool TryDecodeHex(ReadOnlySpan<byte> hex, out byte[] bytes)
    {
        var output = new List<byte>(hex.Length / 2);
        var high = -1;
        foreach (var c in hex)
        {
            if (IsWhitespace(c))
                continue;
            var nibble = c switch
            {
                >= (byte)'0' and <= (byte)'9' => c - '0',
                >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
                _ => -1,
            };
            if (nibble < 0)
            {
                bytes = [];
                return false;
            }
            if (high < 0)
                high = nibble;
            else
            {
                output.Add((byte)(high << 4 | nibble));
                high = -1;
            }
        }
        if (high >= 0)
            output.Add((byte)(high << 4));
        bytes = [.. output];
        return bytes.Length > 0;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> pdf, int position)
    {
        while (position < pdf.Length && IsWhitespace(pdf[position]))
            position++;
        return position;
    }

    // ISO 32000-1 §7.2.2, Tables 1 and 2.
    private static bool IsWhitespace(byte c) => c is 0 or 9 or 10 or 12 or 13 or 32;

    private static bool IsDelimiter(byte c) => c is (byte)'(' or (byte)')' or (byte)'<' or (byte)'>' or (byte)'[' or (byte)']' or (byte)'{' or (byte)'}' or (byte)'/' or (byte)'%';
}
