using System.Text.Json.Serialization;

namespace Decommission.DeviceProtocol;

/// <summary>
/// The gateway's signed decision on a device's receipt or refusal, sent back to the device. Exactly one of
/// <see cref="ReceiptSha256"/> and <see cref="RefusalSha256"/> names the answer decided on, by the SHA-256 of its bytes as received.
/// </summary>
public sealed record EraseVerdict
{
    public const string Type = "decommission.erase-verdict";
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";

    /// <summary>The protocol's major version (<see cref="SignedMessage.Version"/>).</summary>
    [JsonPropertyName("v")] public int Version { get; init; } = SignedMessage.Version;
    [JsonPropertyName("type")] public string MessageType { get; init; } = Type;
    [JsonPropertyName("verdictId")] public string VerdictId { get; init; } = "";
    [JsonPropertyName("commandId")] public string CommandId { get; init; } = "";
    [JsonPropertyName("deviceId")] public string DeviceId { get; init; } = "";
    [JsonPropertyName("receiptSha256"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ReceiptSha256 { get; init; }
    [JsonPropertyName("refusalSha256"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? RefusalSha256 { get; init; }
    /// <summary><see cref="Accepted"/> or <see cref="Rejected"/>.</summary>
    [JsonPropertyName("verdict")] public string Verdict { get; init; } = "";
    /// <summary>For a rejection: the gateway's reason (docs/device-protocol.md, "What the gateway checks") and what it found.</summary>
    [JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Reason { get; init; }
    [JsonPropertyName("detail"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Detail { get; init; }
    [JsonPropertyName("decidedAt")] public string DecidedAt { get; init; } = "";
    /// <summary>Key id of the gateway's command-signing key that signed the verdict.</summary>
    [JsonPropertyName("keyId")] public string KeyId { get; init; } = "";
    /// <summary>ECDSA P-256 / SHA-256 over <see cref="SignedBytes"/>, IEEE P1363 (r‖s), base64.</summary>
    [JsonPropertyName("signature")] public string Signature { get; init; } = "";

    /// <summary>What the signature covers: the RFC 8785 canonical JSON of this verdict without <c>signature</c>.</summary>
    public byte[] SignedBytes() => SignedMessage.SignedBytesOf(this);
}
