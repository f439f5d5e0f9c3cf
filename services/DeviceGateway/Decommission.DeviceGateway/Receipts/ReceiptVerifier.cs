using System.Security.Cryptography;
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
/// we issued to that device with its nonce, received before it expired, stamped by a device clock within the skew of the
/// command's window, by a method that meets policy, and passed by the device's own check.
/// Each failed check has its own reason.
/// </summary>
public sealed class ReceiptVerifier(TimeSpan maxClockSkew)
{
    public static (SignedMessage<WipeReceipt>? Receipt, string Sha256, string? Problem) Parse(ReadOnlySpan<byte> body)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(body));
        var (signed, problem) = SignedMessage.Parse<WipeReceipt>(body, WipeReceipt.Type);
        if (signed is null)
            return (null, sha256, problem);

        var receipt = signed.Message;
        var missing = new List<string>();
        if (!Guid.TryParse(receipt.CommandId, out _)) missing.Add("commandId");
        foreach (var (name, value) in new[]
                 {
                     ("receiptId", receipt.ReceiptId), ("deviceId", receipt.DeviceId), ("nonce", receipt.Nonce), ("outcome", receipt.Outcome),
                     ("method", receipt.Method), ("keyId", receipt.KeyId), ("signature", receipt.Signature),
                 })
            if (string.IsNullOrWhiteSpace(value)) missing.Add(name);
        if (!ProtocolSigning.TryParseTimestamp(receipt.CompletedAt, out _)) missing.Add("completedAt (RFC 3339 UTC)");
        return missing.Count > 0 ? (signed, sha256, $"missing or invalid: {string.Join(", ", missing)}") : (signed, sha256, null);
    }

    /// <param name="receivedAt">When the gateway received the receipt, by its own clock: the trusted time.</param>
    public ReceiptVerdict Verify(SignedMessage<WipeReceipt> signed, string sha256, ReceiptFacts facts, DateTimeOffset receivedAt)
    {
        var receipt = signed.Message;
        if (facts.Command is { Verified: true } answered && answered.VerifiedBySha256 == sha256)
            return new ReceiptVerdict(ReceiptVerdict.Duplicate, "", "this receipt already verified its command");

        if (facts.RegisteredKey is null)
            return ReceiptVerdict.Reject(R.UnregisteredKey, $"device {receipt.DeviceId} has no registered attestation key");
        var registeredKeyId = ProtocolSigning.KeyId(facts.RegisteredKey);
        if (receipt.KeyId != registeredKeyId)
            return ReceiptVerdict.Reject(R.UnregisteredKey, $"signed with key {receipt.KeyId}, not the device's registered attestation key {registeredKeyId}");
        using (var key = ProtocolSigning.ImportPublicKey(facts.RegisteredKey))
            if (!ProtocolSigning.Verify(key, signed.SignedBytes, receipt.Signature))
                return ReceiptVerdict.Reject(R.BadSignature, "the signature does not verify with the device's attestation key");

        ProtocolSigning.TryParseTimestamp(receipt.CompletedAt, out var completedAt);
        var command = facts.Command;
        if (command is null)
        {
            // A genuine receipt for a command we never issued, older than the one the device owes us: an old receipt replayed.
            if (facts.PendingCommandOfDevice is { } pending && completedAt < pending.IssuedAt - maxClockSkew)
                return ReceiptVerdict.Reject(R.Replay, $"an old receipt (completed {receipt.CompletedAt}) for command {receipt.CommandId}, not the pending command {pending.CommandId}");
            return ReceiptVerdict.Reject(R.CommandMismatch, $"no command {receipt.CommandId} was issued");
        }
        if (command.DeviceId != receipt.DeviceId)
            return ReceiptVerdict.Reject(R.DeviceMismatch, $"command {command.CommandId} was issued to {command.DeviceId}, the receipt is from {receipt.DeviceId}");
        if (command.Verified)
            return ReceiptVerdict.Reject(R.Replay, $"command {command.CommandId} was already answered by another receipt");
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(receipt.Nonce), System.Text.Encoding.UTF8.GetBytes(command.Nonce)))
            return ReceiptVerdict.Reject(R.NonceMismatch, "the receipt does not echo the command's nonce");
        if (receivedAt > command.ExpiresAt)
            return ReceiptVerdict.Reject(R.Expired, $"received at {ProtocolSigning.Timestamp(receivedAt)}, after the command expired at {ProtocolSigning.Timestamp(command.ExpiresAt)}");
        // The device's clock: its claimed time must lie in the command's window, and not after we received it, within the skew.
        var latest = receivedAt < command.ExpiresAt ? receivedAt : command.ExpiresAt;
        if (completedAt < command.IssuedAt - maxClockSkew || completedAt > latest + maxClockSkew)
            return ReceiptVerdict.Reject(R.ClockSkew,
                $"completed {receipt.CompletedAt} by the device's clock, outside {ProtocolSigning.Timestamp(command.IssuedAt)} (issued) to "
                + $"{ProtocolSigning.Timestamp(latest)} ({(latest == receivedAt ? "received" : "expiry")}) by more than {maxClockSkew}");
        if (!ErasureMethods.IsPurge(receipt.Method))
            return ReceiptVerdict.Reject(R.WeakMethod, $"method {receipt.Method} does not meet the Purge policy (CryptographicErase)");
        if (receipt.Outcome != ErasureMethods.Succeeded || !receipt.SelfCheckPassed)
            return ReceiptVerdict.Reject(R.DeviceReportedFailure, $"outcome {receipt.Outcome}, self-check {(receipt.SelfCheckPassed ? "passed" : "failed")}: {receipt.SelfCheckDetail}");

        return ReceiptVerdict.Ok();
    }
}
