using System.Text.Json.Serialization;

namespace Decommission.DeviceProtocol;

/// <summary>A signed crypto-erase command, as sent to a device. Timestamps are RFC 3339 UTC strings, signed as sent.</summary>
public sealed record EraseCommand
{
    public const string Type = "decommission.erase-command";

    /// <summary>The protocol's major version (<see cref="SignedMessage.Version"/>).</summary>
    [JsonPropertyName("v")] public int Version { get; init; } = SignedMessage.Version;
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

    /// <summary>What the signature covers: the RFC 8785 canonical JSON of this command without <c>signature</c>.</summary>
    public byte[] SignedBytes() => SignedMessage.SignedBytesOf(this);
}
