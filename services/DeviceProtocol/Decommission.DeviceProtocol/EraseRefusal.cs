using System.Text.Json.Serialization;

namespace Decommission.DeviceProtocol;

/// <summary>A device's signed statement that it will not perform an erase command, sent where its receipt would go.</summary>
public sealed record EraseRefusal
{
    public const string Type = "decommission.erase-refusal";

    /// <summary>The protocol's major version (<see cref="SignedMessage.Version"/>).</summary>
    [JsonPropertyName("v")] public int Version { get; init; } = SignedMessage.Version;
    [JsonPropertyName("type")] public string MessageType { get; init; } = Type;
    [JsonPropertyName("refusalId")] public string RefusalId { get; init; } = "";
    [JsonPropertyName("commandId")] public string CommandId { get; init; } = "";
    [JsonPropertyName("deviceId")] public string DeviceId { get; init; } = "";
    [JsonPropertyName("nonce")] public string Nonce { get; init; } = "";
    /// <summary>One of <see cref="RefusalReasons"/>.</summary>
    [JsonPropertyName("reason")] public string Reason { get; init; } = "";
    /// <summary>Free text from the device, for people: untrusted, escaped wherever it is shown.</summary>
    [JsonPropertyName("detail")] public string Detail { get; init; } = "";
    [JsonPropertyName("refusedAt")] public string RefusedAt { get; init; } = "";
    /// <summary>Key id of the device's attestation key, which signs the refusal.</summary>
    [JsonPropertyName("keyId")] public string KeyId { get; init; } = "";
    /// <summary>ECDSA P-256 / SHA-256 over <see cref="SignedBytes"/>, IEEE P1363 (r‖s), base64.</summary>
    [JsonPropertyName("signature")] public string Signature { get; init; } = "";

    /// <summary>What the signature covers: the RFC 8785 canonical JSON of this refusal without <c>signature</c>.</summary>
    public byte[] SignedBytes() => SignedMessage.SignedBytesOf(this);
}

/// <summary>Why a device refuses an erase command: the codes a refusal's <c>reason</c> may hold.</summary>
public static class RefusalReasons
{
    /// <summary>The device cannot perform the command's method.</summary>
    public const string UnsupportedMethod = nameof(UnsupportedMethod);
    /// <summary>A local policy or an operator on site forbids the erase now (a maintenance lock, a local hold).</summary>
    public const string NotPermitted = nameof(NotPermitted);
    /// <summary>The secure element or the storage cannot be driven (the erase was not attempted).</summary>
    public const string HardwareFault = nameof(HardwareFault);
    /// <summary>Not enough power to finish an erase safely.</summary>
    public const string InsufficientPower = nameof(InsufficientPower);

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
        { UnsupportedMethod, NotPermitted, HardwareFault, InsufficientPower };
}
