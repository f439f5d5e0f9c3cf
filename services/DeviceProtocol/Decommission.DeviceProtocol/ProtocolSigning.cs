using System.Globalization;
using System.Security.Cryptography;

namespace Decommission.DeviceProtocol;

/// <summary>ECDSA P-256 signing as the protocol fixes it, and the key ids and timestamps it uses.</summary>
public static partial class ProtocolSigning
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

    /// <summary>
    /// Reads an RFC 3339 date-time in UTC: any number of fraction digits (beyond 7 they are truncated), <c>T</c> or <c>t</c>,
    /// and <c>Z</c>, <c>z</c>, <c>+00:00</c> or <c>-00:00</c>. Any other offset is refused: the protocol's times are UTC.
    /// A leap second (:60) reads as the last tick of its minute.
    /// </summary>
    public static bool TryParseTimestamp(string? value, out DateTimeOffset at)
    {
        at = default;
        var match = value is null ? null : Rfc3339Utc().Match(value);
        if (match is not { Success: true })
            return false;
        int Part(string name) => int.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture);
        var (year, month, day, hour, minute, second) = (Part("y"), Part("mo"), Part("d"), Part("h"), Part("mi"), Part("s"));
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(Math.Max(year, 1), month) || hour > 23 || minute > 59 || second > 60 || year < 1)
            return false;
        var fraction = match.Groups["f"].Value;
        var ticks = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(7, '0')[..7], CultureInfo.InvariantCulture);
        var leap = second == 60;
        at = new DateTimeOffset(year, month, day, hour, minute, leap ? 59 : second, TimeSpan.Zero).AddTicks(leap ? TimeSpan.TicksPerSecond - 1 : ticks);
        return true;
    }

    [System.Text.RegularExpressions.GeneratedRegex(
        @"^(?<y>[0-9]{4})-(?<mo>[0-9]{2})-(?<d>[0-9]{2})[Tt](?<h>[0-9]{2}):(?<mi>[0-9]{2}):(?<s>[0-9]{2})(?:\.(?<f>[0-9]+))?(?:[Zz]|[+-]00:00)\z",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex Rfc3339Utc();
}
