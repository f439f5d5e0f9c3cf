using System.Security.Cryptography;
using Decommission.Contracts;
using Decommission.DeviceProtocol;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Receipts;

/// <summary>What a device's answer to a command (a receipt or a refusal) is checked by alike: who signed it, and what it answers.</summary>
/// <param name="Kind">"receipt" or "refusal", for the details.</param>
/// <param name="DeviceTime">The device's signed time (completedAt, refusedAt), already known to be RFC 3339 UTC.</param>
public sealed record DeviceAnswer(string Kind, string DeviceId, string CommandId, string Nonce, string DeviceTime, string KeyId, string Signature, byte[] SignedBytes);

/// <summary>
/// The checks receipts and refusals share, in the documented order: signed by the device's registered attestation key, for
/// a command we issued to that device and nobody answered yet, echoing its nonce, received before it expired, stamped by a
/// device clock within the skew of the command's window.
/// </summary>
public static class AnswerChecks
{
    /// <summary>The first check that fails, or null when the answer is the device's own to a command it still owes.</summary>
    public static ReceiptVerdict? Check(DeviceAnswer answer, ReceiptFacts facts, DateTimeOffset receivedAt, TimeSpan maxClockSkew)
    {
        if (facts.RegisteredKey is null)
            return ReceiptVerdict.Reject(R.UnregisteredKey, $"device {answer.DeviceId} has no registered attestation key");
        var registeredKeyId = ProtocolSigning.KeyId(facts.RegisteredKey);
        if (answer.KeyId != registeredKeyId)
            return ReceiptVerdict.Reject(R.UnregisteredKey, $"signed with key {answer.KeyId}, not the device's registered attestation key {registeredKeyId}");
        using (var key = ProtocolSigning.ImportPublicKey(facts.RegisteredKey))
            if (!ProtocolSigning.Verify(key, answer.SignedBytes, answer.Signature))
                return ReceiptVerdict.Reject(R.BadSignature, "the signature does not verify with the device's attestation key");

        ProtocolSigning.TryParseTimestamp(answer.DeviceTime, out var deviceTime);
        var command = facts.Command;
        if (command is null)
        {
            // A genuine answer to a command we never issued, older than the one the device owes us: an old answer replayed.
            if (facts.PendingCommandOfDevice is { } pending && deviceTime < pending.IssuedAt - maxClockSkew)
                return ReceiptVerdict.Reject(R.Replay, $"an old {answer.Kind} (of {answer.DeviceTime}) for command {answer.CommandId}, not the pending command {pending.CommandId}");
            return ReceiptVerdict.Reject(R.CommandMismatch, $"no command {answer.CommandId} was issued");
        }
        if (command.DeviceId != answer.DeviceId)
            return ReceiptVerdict.Reject(R.DeviceMismatch, $"command {command.CommandId} was issued to {command.DeviceId}, the {answer.Kind} is from {answer.DeviceId}");
        if (command.Answered)
            return ReceiptVerdict.Reject(R.Replay, $"command {command.CommandId} was already answered by another receipt or refusal");
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(answer.Nonce), System.Text.Encoding.UTF8.GetBytes(command.Nonce)))
            return ReceiptVerdict.Reject(R.NonceMismatch, $"the {answer.Kind} does not echo the command's nonce");
        if (receivedAt > command.ExpiresAt)
            return ReceiptVerdict.Reject(R.Expired, $"received at {ProtocolSigning.Timestamp(receivedAt)}, after the command expired at {ProtocolSigning.Timestamp(command.ExpiresAt)}");
        // The device's clock: its claimed time must lie in the command's window, and not after we received it, within the skew.
        var latest = receivedAt < command.ExpiresAt ? receivedAt : command.ExpiresAt;
        if (deviceTime < command.IssuedAt - maxClockSkew || deviceTime > latest + maxClockSkew)
            return ReceiptVerdict.Reject(R.ClockSkew,
                $"{answer.DeviceTime} by the device's clock, outside {ProtocolSigning.Timestamp(command.IssuedAt)} (issued) to "
                + $"{ProtocolSigning.Timestamp(latest)} ({(latest == receivedAt ? "received" : "expiry")}) by more than {maxClockSkew}");
        return null;
    }

    /// <summary>What the saga hears of an answer that did not verify (or of a verified refusal), about the command it concerns.</summary>
    /// <param name="conclusive">Whether it ends the erase: only the device's own answer to this very command can.</param>
    public static ErasureRejected Rejection(IssuedCommand about, ReceiptVerdict verdict, bool conclusive, DateTimeOffset now) => new()
    {
        RetirementId = about.RetirementId,
        DeviceId = about.DeviceId,
        CommandId = Guid.Parse(about.CommandId),
        Nonce = about.Nonce,
        Reason = verdict.Reason,
        Detail = UntrustedText.Safe(verdict.Detail),
        Conclusive = conclusive,
        RejectedAt = now,
    };

    /// <summary>Whether the gateway may tell the device its verdict: the device's own signature verified (or the answer is the
    /// very one that verified before) and the answer names a command issued to that device. A forger learns nothing.</summary>
    public static bool Attributable(ReceiptVerdict verdict, IssuedCommand? command, string? deviceId) =>
        verdict.Reason is not (R.Malformed or R.UnregisteredKey or R.BadSignature) && command is not null && command.DeviceId == deviceId;
}
