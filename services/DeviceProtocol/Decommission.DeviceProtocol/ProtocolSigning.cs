using System.Globalization;
using System.Security.Cryptography;

namespace Decommission.DeviceProtocol;

/// <summary>ECDSA P-256 signing as the protocol fixes it, and the key ids and timestamps it uses.</summary>
public static class ProtocolSigning
{
    private const string NistP256Oid = "1.2.840.10045.3.1.7";

    public static string Sign(ECDsa key, byte[] data) =>
        Convert.ToBase64String(key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

    public static bool Verify(ECDsa key, byte[] data, string? signature)
    {
        if (string.IsNullOrEmpty(signature))
            return false;
        Span<byte> bytes = stackalloc byte[132];
        return Convert.TryFromBase64String(signature, bytes, out var written)
            && key.VerifyData(data, bytes[..written], HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>SHA-256 of the public key's SubjectPublicKeyInfo, lower-case hex.</summary>
    public static string KeyId(ECDsa key) => KeyId(key.ExportSubjectPublicKeyInfo());

    public static string KeyId(byte[] subjectPublicKeyInfo) => Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo));

    public static ECDsa ImportPublicKey(byte[] subjectPublicKeyInfo)
    {
        var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out _);
        if (key.ExportParameters(false).Curve.Oid.Value != NistP256Oid)
            throw new CryptographicException("Protocol keys must be ECDSA P-256 (secp256r1).");
        return key;
    }

    /// <summary>An IEEE P1363 (r‖s) signature, base64, as DER ECDSA-Sig-Value (RFC 3279 §2.2.3): what openssl dgst -verify reads.</summary>
    public static byte[] ToDerSignature(string p1363Base64)
    {
        var raw = Convert.FromBase64String(p1363Base64);
        if (raw.Length == 0 || raw.Length % 2 != 0)
            throw new FormatException("An IEEE P1363 signature is r and s of equal length.");
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteIntegerUnsigned(Minimal(raw.AsSpan(0, raw.Length / 2)));
            writer.WriteIntegerUnsigned(Minimal(raw.AsSpan(raw.Length / 2)));
        }
        return writer.Encode();

        // DER integers carry no leading zero bytes beyond the one a high bit needs (which the writer adds).
        static ReadOnlySpan<byte> Minimal(ReadOnlySpan<byte> value)
        {
            var start = 0;
            while (start < value.Length - 1 && value[start] == 0)
                start++;
            return value[start..];
        }
    }

    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static bool TryParseTimestamp(string value, out DateTimeOffset at) =>
        DateTimeOffset.TryParseExact(value, "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at);
}
