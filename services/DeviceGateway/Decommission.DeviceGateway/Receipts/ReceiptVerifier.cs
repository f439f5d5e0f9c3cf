using System.Security.Cryptography;
using System.Text.Json;
using Decommission.DeviceProtocol;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Receipts;

/// <summary>A command as the gateway issued it, for checking a receipt against.</summary>
public sealed record IssuedCommand(string CommandId, Guid RetirementId, string DeviceId, string Nonce,
    DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt, bool Verified, string? VerifiedBySha256)
{
    /// <summary>The signed command exactly as sent.</summary>
    public string Body { get; init; } = "";
}

/// <summary>What the gateway knows that a receipt is checked against, looked up after parsing it.</summary>
public sealed record ReceiptFacts(byte[]? RegisteredKey, IssuedCommand? Command, IssuedCommand? PendingCommandOfDevice);

/// <summary>The outcome of checking one receipt. Duplicate: the very receipt that already verified, delivered again.</summary>
public sealed record ReceiptVerdict(string Verdict, string Reason, string Detail)
{
    public const string Verified = nameof(Verified);
    public const string Rejected = nameof(Rejected);
    public const string Duplicate = nameof(Duplicate);

    public bool IsVerified => Verdict == Verified;
    public static ReceiptVerdict Ok() => new(Verified, "", "");
    public static ReceiptVerdict Reject(string reason, string detail) => new(Rejected, reason, detail);
}

/// <summary>
/// Decides whether a wipe receipt proves the erase: signed by the device's registered attestation key, for the command
/// we issued to that device with its nonce, fresh, by a method that meets policy, and passed by the device's own check.
/// Each failed check has its own reason.
/// </summary>
public sealed class ReceiptVerifier(TimeSpan allowedClockSkew)
{
    public static (WipeReceipt? Receipt, string Sha256, string? Problem) Parse(ReadOnlySpan<byte> body)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(body));
        WipeReceipt? receipt;
        try
        {
            receipt = JsonSerializer.Deserialize<WipeReceipt>(body);
        }
        catch (JsonException e)
        {
            return (null, sha256, $"not a JSON wipe receipt: {e.Message}");
        }
        if (receipt is null)
            return (null, sha256, "empty document");

        var missing = new List<string>();
        if (receipt.MessageType != WipeReceipt.Type) missing.Add($"type must be {WipeReceipt.Type}");
        if (!Guid.TryParse(receipt.CommandId, out _)) missing.Add("commandId");
        foreach (var (name, value) in new[]
                 {
                     ("receiptId", receipt.ReceiptId), ("deviceId", receipt.DeviceId), ("nonce", receipt.Nonce), ("outcome", receipt.Outcome),
                     ("method", receipt.Method), ("keyId", receipt.KeyId), ("signature", receipt.Signature),
                 })
            if (string.IsNullOrWhiteSpace(value)) missing.Add(name);
        if (!ProtocolSigning.TryParseTimestamp(receipt.CompletedAt, out _)) missing.Add("completedAt (RFC 3339 UTC)");
        return missing.Count > 0 ? (receipt, sha256, $"missing or invalid: {string.Join(", ", missing)}") : (receipt, sha256, null);
    }

    public ReceiptVerdict Verify(WipeReceipt receipt, string sha256, ReceiptFacts facts, DateTimeOffset now)
    {
        if (facts.Command is { Verified: true } answered && answered.VerifiedBySha256 == sha256)
            return new ReceiptVerdict(ReceiptVerdict.Duplicate, "", "this receipt already verified its command");

        if (facts.RegisteredKey is null)
            return ReceiptVerdict.Reject(R.UnregisteredKey, $"device {receipt.DeviceId} has no registered attestation key");
        var registeredKeyId = ProtocolSigning.KeyId(facts.RegisteredKey);
        if (receipt.KeyId != registeredKeyId)
            return ReceiptVerdict.Reject(R.UnregisteredKey, $"signed with key {receipt.KeyId}, not the device's registered attestation key {registeredKeyId}");
        using (var key = ProtocolSigning.ImportPublicKey(facts.RegisteredKey))
            if (!ProtocolSigning.Verify(key, receipt.SignedBytes(), receipt.Signature))
                return ReceiptVerdict.Reject(R.BadSignature, "the signature does not verify with the device's attestation key");

        ProtocolSigning.TryParseTimestamp(receipt.CompletedAt, out var completedAt);
        var command = facts.Command;
        if (command is null)
        {
            // A genuine receipt for a command we never issued, older than the one the device owes us: an old receipt replayed.
            if (facts.PendingCommandOfDevice is { } pending && completedAt < pending.IssuedAt - allowedClockSkew)
                return ReceiptVerdict.Reject(R.Replay, $"an old receipt (completed {receipt.CompletedAt}) for command {receipt.CommandId}, not the pending command {pending.CommandId}");
            return ReceiptVerdict.Reject(R.CommandMismatch, $"no command {receipt.CommandId} was issued");
        }
        if (command.DeviceId != receipt.DeviceId)
            return ReceiptVerdict.Reject(R.DeviceMismatch, $"command {command.CommandId} was issued to {command.DeviceId}, the receipt is from {receipt.DeviceId}");
        if (command.Verified)
            return ReceiptVerdict.Reject(R.Replay, $"command {command.CommandId} was already answered by another receipt");
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(receipt.Nonce), System.Text.Encoding.UTF8.GetBytes(command.Nonce)))
            return ReceiptVerdict.Reject(R.NonceMismatch, "the receipt does not echo the command's nonce");
        if (completedAt < command.IssuedAt - allowedClockSkew)
            return ReceiptVerdict.Reject(R.Replay, $"completed {receipt.CompletedAt}, before the command was issued");
        if (now > command.ExpiresAt || completedAt > command.ExpiresAt)
            return ReceiptVerdict.Reject(R.Expired, $"the command expired at {ProtocolSigning.Timestamp(command.ExpiresAt)}");
        if (!ErasureMethods.IsPurge(receipt.Method))
            return ReceiptVerdict.Reject(R.WeakMethod, $"method {receipt.Method} does not meet the Purge policy (CryptographicErase)");
        if (receipt.Outcome != ErasureMethods.Succeeded || !receipt.SelfCheckPassed)
            return ReceiptVerdict.Reject(R.DeviceReportedFailure, $"outcome {receipt.Outcome}, self-check {(receipt.SelfCheckPassed ? "passed" : "failed")}: {receipt.SelfCheckDetail}");

        return ReceiptVerdict.Ok();
    }
}
