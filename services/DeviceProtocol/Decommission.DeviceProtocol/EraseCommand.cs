using System.Text.Json;
using System.Text.Json.Serialization;

namespace Decommission.DeviceProtocol;

/// <summary>A signed crypto-erase command, as sent to a device. Timestamps are RFC 3339 UTC strings, signed as sent.</summary>
public sealed record EraseCommand
{
    // v2: the command names the retirement it belongs to, so a wipe cannot be certified for another retirement.
    public const string Type = "decommission.erase-command.v2";

    [JsonPropertyName("type")] public string MessageType { get; init; } = Type;
    [JsonPropertyName("commandId")] public string CommandId { get; init; } = "";
    [JsonPropertyName("deviceId")] public string DeviceId { get; init; } = "";
    /// <summary>The retirement this erase belongs to: the disposal certificate is issued for this retirement only.</summary>
    [JsonPropertyName("retirementId")] public string RetirementId { get; init; } = "";
    /// <summary>At least 128 random bits, base64url; the receipt must echo it.</summary>
    [JsonPropertyName("nonce")] public string Nonce { get; init; } = "";
    [JsonPropertyName("issuedAt")] public string IssuedAt { get; init; } = "";
    [JsonPropertyName("expiresAt")] public string ExpiresAt { get; init; } = "";
    [JsonPropertyName("method")] public string Method { get; init; } = ErasureMethods.CryptographicErase;
    /// <summary>SHA-256 of the service signing key's SubjectPublicKeyInfo, hex.</summary>
    [JsonPropertyName("keyId")] public string KeyId { get; init; } = "";
    /// <summary>ECDSA P-256 / SHA-256 over <see cref="SignedBytes"/>, IEEE P1363 (r‖s), base64.</summary>
    [JsonPropertyName("signature")] public string Signature { get; init; } = "";

    /// <summary>The canonical encoding the signature covers: a JSON array of the fields in a fixed order.</summary>
    public byte[] SignedBytes() => JsonSerializer.SerializeToUtf8Bytes(
        new[] { Type, CommandId, DeviceId, RetirementId, Nonce, IssuedAt, ExpiresAt, Method, KeyId });
}
