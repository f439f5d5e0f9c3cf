using System.Text.Json;

namespace Decommission.DeviceProtocol;

/// <summary>A protocol message as received: its fields, and the canonical bytes its signature covers, computed from the
/// received JSON (RFC 8785, without <c>signature</c>) rather than re-encoded from the fields, so unknown fields are signed too.</summary>
public sealed record SignedMessage<T>(T Message, byte[] SignedBytes);

/// <summary>Reads a protocol message and applies the version rule (docs/device-protocol.md, "Versions").</summary>
public static class SignedMessage
{
    /// <summary>The protocol's major version, the <c>v</c> field of every message. A receiver rejects any other major version.</summary>
    public const int Version = 2;

    public const string SignatureField = "signature";

    /// <summary>Parses <paramref name="json"/> as a message of <paramref name="type"/>; returns it or why it is malformed.</summary>
    public static (SignedMessage<T>? Message, string? Problem) Parse<T>(ReadOnlySpan<byte> json, string type) where T : class
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, "not a JSON object");
            if (!root.TryGetProperty("v", out var version))
                return (null, $"no protocol version (\"v\"): protocol v1 is no longer accepted, v{Version} is required");
            if (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var major) || major != Version)
                return (null, $"unsupported protocol version {UntrustedText.Safe(version.GetRawText(), 32)}: v{Version} is required");
            if (!root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String || typeElement.GetString() != type)
                return (null, $"type must be {type}");
            var signedBytes = JsonCanonicalization.Canonicalize(root, SignatureField);
            var message = root.Deserialize<T>() ?? throw new JsonException("empty document");
            return (new SignedMessage<T>(message, signedBytes), null);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return (null, $"not a JSON {type}: {e.Message}");
        }
    }

    /// <summary>The top-level <c>type</c> of a JSON object, or null when it has none or is no JSON object: which message a receiver was sent.</summary>
    public static string? PeekType(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type");
                if (!reader.Read())
                    return null;
                if (isType)
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The canonical bytes a signature over <paramref name="message"/> covers: its JSON form, canonicalised, without <c>signature</c>.</summary>
    public static byte[] SignedBytesOf<T>(T message) =>
        JsonCanonicalization.Canonicalize(JsonSerializer.SerializeToElement(message), SignatureField);
}
