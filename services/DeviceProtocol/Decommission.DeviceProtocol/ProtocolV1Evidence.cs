using System.Text.Json;

namespace Decommission.DeviceProtocol;

/// <summary>
/// Protocol v1's messages and signed bytes (a JSON array of the fields, as System.Text.Json escaped them). Kept only so that
/// evidence certified under v1 still verifies when a certificate is checked again; the gateway accepts v2 receipts only.
/// </summary>
internal static class ProtocolV1Evidence
{
    public const string CommandType = "decommission.erase-command.v2";
    public const string ReceiptType = "decommission.wipe-receipt.v1";

    public static SignedMessage<EraseCommand>? ParseCommand(byte[] json) => Parse<EraseCommand>(json, CommandType, c => JsonSerializer.SerializeToUtf8Bytes(
        new[] { CommandType, c.CommandId, c.DeviceId, c.RetirementId, c.Nonce, c.IssuedAt, c.ExpiresAt, c.Method, c.KeyId }));

    public static SignedMessage<WipeReceipt>? ParseReceipt(byte[] json) => Parse<WipeReceipt>(json, ReceiptType, r => JsonSerializer.SerializeToUtf8Bytes(new object[]
    {
        ReceiptType, r.ReceiptId, r.CommandId, r.DeviceId, r.Nonce, r.Outcome, r.Method,
        r.DestroyedKeyIds, r.AreasCovered, r.AreasNotCovered, r.SelfCheckPassed, r.SelfCheckDetail, r.CompletedAt, r.KeyId,
    }));

    private static SignedMessage<T>? Parse<T>(byte[] json, string type, Func<T, byte[]> signedBytes) where T : class
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || root.TryGetProperty("v", out _)
                || !root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String || typeElement.GetString() != type)
                return null;
            return root.Deserialize<T>() is { } message ? new SignedMessage<T>(message, signedBytes(message)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
