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

    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static bool TryParseTimestamp(string value, out DateTimeOffset at) =>
        DateTimeOffset.TryParseExact(value, "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at);
}
