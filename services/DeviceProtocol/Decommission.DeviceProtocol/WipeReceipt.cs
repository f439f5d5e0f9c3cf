using System.Text.Json.Serialization;

namespace Decommission.DeviceProtocol;

/// <summary>A device's signed account of a crypto-erase, as it publishes it.</summary>
public sealed record WipeReceipt
{
    public const string Type = "decommission.wipe-receipt";

    /// <summary>The protocol's major version (<see cref="SignedMessage.Version"/>).</summary>
    [JsonPropertyName("v")] public int Version { get; init; } = SignedMessage.Version;
    [JsonPropertyName("type")] public string MessageType { get; init; } = Type;
    [JsonPropertyName("receiptId")] public string ReceiptId { get; init; } = "";
    [JsonPropertyName("commandId")] public string CommandId { get; init; } = "";
    [JsonPropertyName("deviceId")] public string DeviceId { get; init; } = "";
    [JsonPropertyName("nonce")] public string Nonce { get; init; } = "";
    /// <summary>Succeeded or Failed.</summary>
    [JsonPropertyName("outcome")] public string Outcome { get; init; } = "";
    [JsonPropertyName("method")] public string Method { get; init; } = "";
    [JsonPropertyName("destroyedKeyIds")] public IReadOnlyList<string> DestroyedKeyIds { get; init; } = [];
    [JsonPropertyName("areasCovered")] public IReadOnlyList<string> AreasCovered { get; init; } = [];
    [JsonPropertyName("areasNotCovered")] public IReadOnlyList<string> AreasNotCovered { get; init; } = [];
    /// <summary>The device's own post-erase check: it tried to decrypt its data and could not.</summary>
    [JsonPropertyName("selfCheckPassed")] public bool SelfCheckPassed { get; init; }
    [JsonPropertyName("selfCheckDetail")] public string SelfCheckDetail { get; init; } = "";
    [JsonPropertyName("completedAt")] public string CompletedAt { get; init; } = "";
    /// <summary>SHA-256 of the signing attestation key's SubjectPublicKeyInfo, hex.</summary>
    [JsonPropertyName("keyId")] public string KeyId { get; init; } = "";
    /// <summary>ECDSA P-256 / SHA-256 over <see cref="SignedBytes"/> with the attestation key, IEEE P1363 (r‖s), base64.</summary>
    [JsonPropertyName("signature")] public string Signature { get; init; } = "";

    /// <summary>What the signature covers: the RFC 8785 canonical JSON of this receipt without <c>signature</c>.</summary>
    public byte[] SignedBytes() => SignedMessage.SignedBytesOf(this);
}
