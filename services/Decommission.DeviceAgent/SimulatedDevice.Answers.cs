using System.Security.Cryptography;
using System.Text.Json;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceAgent;

/// <summary>The device's side of the conversation: commands in, receipts or refusals out, verdicts in.</summary>
public sealed partial class SimulatedDevice
{
    /// <summary>What a <see cref="DeviceBehaviour.Refuses"/> device says; its own words, with characters a log or a terminal must not take raw.</summary>
    public const string RefusalDetail = "maintenance lock set on site by «Schichtleiter» <ops&maint>: it's \"locked\"\n+1";

    // What the device answered each command with, byte for byte: a re-sent command gets the same bytes (on its disk too, when it has one).
    private readonly Dictionary<string, Answer> answersByCommand = [];

    /// <summary>The attestation key is gone: the gateway accepted the device's receipt. The device can sign nothing any more.</summary>
    public bool AttestationKeyDestroyed { get; private set; }

    /// <summary>The last verdict the device accepted as genuine and about its own answer.</summary>
    public EraseVerdict? LastVerdict { get; private set; }

    /// <summary>
    /// Takes one message from the gateway, as bytes from any transport, and returns the bytes to send back: for an erase
    /// command, the receipt or refusal (the stored one, unchanged, for a command answered before); for a verdict, nothing.
    /// Anything the device must not act on is logged and answered with nothing.
    /// </summary>
    public byte[]? Receive(ReadOnlySpan<byte> message, DateTimeOffset now)
    {
        var type = SignedMessage.PeekType(message);
        switch (type)
        {
            case EraseCommand.Type:
                var (command, commandProblem) = SignedMessage.Parse<EraseCommand>(message, EraseCommand.Type);
                if (command is null)
                    logger.LogWarning("Device {DeviceId} dropped a malformed command: {Problem}", Id, commandProblem);
                return command is null ? null : Respond(command, now)?.Bytes;
            case EraseVerdict.Type:
                var (verdict, verdictProblem) = SignedMessage.Parse<EraseVerdict>(message, EraseVerdict.Type);
                if (verdict is null)
                    logger.LogWarning("Device {DeviceId} dropped a malformed verdict: {Problem}", Id, verdictProblem);
                else
                    Accept(verdict);
                return null;
            default:
                logger.LogWarning("Device {DeviceId} dropped a message of unknown type {Type}", Id, UntrustedText.Safe(type ?? "(none)", 64));
                return null;
        }
    }

    /// <summary>Acts on an erase command; returns the receipt to send, or null when the command must be ignored (or is refused).</summary>
    public WipeReceipt? Handle(EraseCommand command, DateTimeOffset now) => Handle(new SignedMessage<EraseCommand>(command, command.SignedBytes()), now);

    /// <summary>Acts on an erase command as received (its signature checked over the canonical bytes of the received JSON).</summary>
    public WipeReceipt? Handle(SignedMessage<EraseCommand> received, DateTimeOffset now) => Respond(received, now)?.Receipt;

    private Answer? Respond(SignedMessage<EraseCommand> received, DateTimeOffset now)
    {
        var command = received.Message;
        lock (gate)
        {
            CommandsReceived++;
            if (Rejection(received, now) is { } reason)
            {
                logger.LogWarning("Device {DeviceId} ignored command {CommandId}: {Reason}", Id, command.CommandId, reason);
                return null;
            }
            // A re-sent command (same id) gets the answer already given, byte for byte.
            if (!answersByCommand.TryGetValue(command.CommandId, out var answer))
            {
                if (AttestationKeyDestroyed)
                {
                    logger.LogWarning("Device {DeviceId} cannot answer command {CommandId}: its attestation key was destroyed after its erase was accepted",
                        Id, command.CommandId);
                    return null;
                }
                if (Behaviour == DeviceBehaviour.Refuses || oldReceipt is not null)
                {
                    answer = Behaviour == DeviceBehaviour.Refuses ? Answer.Of(Refuse(command, now)) : Answer.Of(oldReceipt!);
                    Remember(command.CommandId, answer);
                }
                else
                {
                    answer = Erase(command, now);
                }
                if (answer.Refusal is { } refusal)
                    logger.LogInformation("Device {DeviceId} refuses command {CommandId}: {Reason}", Id, command.CommandId, refusal.Reason);
                else if (answer.Receipt == oldReceipt)
                    logger.LogWarning("Device {DeviceId} answers command {CommandId} with its old receipt for command {OldCommandId}",
                        Id, command.CommandId, answer.Receipt!.CommandId);
                else
                    logger.LogInformation("Device {DeviceId} answers command {CommandId}: {Outcome}, {Detail}",
                        Id, command.CommandId, answer.Receipt!.Outcome, answer.Receipt.SelfCheckDetail);
            }
            if (answer.Receipt is not null)
                LastReceipt = answer.Receipt;
            if (answerToResend is not null && answer.Bytes.AsSpan().SequenceEqual(answerToResend))
                answerToResend = null;
            return answer;
        }
    }

    private EraseRefusal Refuse(EraseCommand command, DateTimeOffset now)
    {
        var refusal = new EraseRefusal
        {
            RefusalId = Guid.NewGuid().ToString("N"),
            CommandId = command.CommandId,
            DeviceId = Id,
            Nonce = command.Nonce,
            Reason = RefusalReasons.NotPermitted,
            Detail = RefusalDetail,
            RefusedAt = ProtocolSigning.Timestamp(now + ClockError),
            KeyId = ProtocolSigning.KeyId(receiptSigningKey!),
        };
        return refusal with { Signature = ProtocolSigning.Sign(receiptSigningKey!, refusal.SignedBytes()) };
    }

    /// <summary>
    /// A verdict counts only when a provisioned gateway key signed it and it names this device's own answer (command id and the
    /// SHA-256 of the bytes sent). Accepted, for a receipt reporting a successful erase: the attestation key is destroyed.
    /// Rejected: the key is kept, and a re-sent command gets the stored receipt again.
    /// </summary>
    private void Accept(SignedMessage<EraseVerdict> received)
    {
        var verdict = received.Message;
        lock (gate)
        {
            answersByCommand.TryGetValue(verdict.CommandId, out var answer);
            var problem = verdict.DeviceId != Id ? $"addressed to device {verdict.DeviceId}"
                : !gatewayKeys.TryGetValue(verdict.KeyId, out var gatewayKey) ? $"signed with key {verdict.KeyId}, which this device was not provisioned with"
                : !ProtocolSigning.Verify(gatewayKey, received.SignedBytes, verdict.Signature) ? "signature does not verify with the gateway key"
                : answer is null ? $"about command {verdict.CommandId}, which this device never answered"
                : (answer.Receipt is not null ? verdict.ReceiptSha256 : verdict.RefusalSha256) != answer.Sha256 ? "about another answer than the one this device sent"
                : verdict.Verdict is not (EraseVerdict.Accepted or EraseVerdict.Rejected) ? $"verdict {verdict.Verdict} is neither accepted nor rejected"
                : null;
            if (problem is not null)
            {
                logger.LogWarning("Device {DeviceId} ignored a verdict: {Problem}", Id, UntrustedText.Safe(problem));
                return;
            }
            LastVerdict = verdict;
            if (verdict.Verdict == EraseVerdict.Accepted && answer!.Receipt is { Outcome: ErasureMethods.Succeeded } && !AttestationKeyDestroyed)
            {
                // The wipe is proven and recorded: the identity it was proven with must not outlive it, on disk or in memory.
                disk?.DestroyAttestationKey();
                if (receiptSigningKey == attestationKey)
                    receiptSigningKey = null;
                attestationKey?.Dispose();
                attestationKey = null;
                AttestationKeyDestroyed = true;
                logger.LogInformation("Device {DeviceId}: erase of command {CommandId} accepted; attestation key destroyed", Id, verdict.CommandId);
            }
            else
            {
                logger.LogInformation("Device {DeviceId}: verdict {Verdict} {Reason} on command {CommandId}; attestation key kept", Id, verdict.Verdict,
                    UntrustedText.Safe(verdict.Reason), verdict.CommandId);
            }
            if (journal is { Verdict: null } && journal.CommandId == verdict.CommandId)
            {
                // A verdict came: the stored receipt is no longer sent again after a restart (a re-sent command still gets it).
                journal = journal with { Verdict = verdict.Verdict };
                disk?.WriteJournal(journal);
                answerToResend = null;
            }
        }
    }

    /// <summary>An answer as sent: the bytes (what the gateway hashes) and what they hold.</summary>
    private sealed record Answer(byte[] Bytes, string Sha256, WipeReceipt? Receipt, EraseRefusal? Refusal)
    {
        public static Answer Of(WipeReceipt receipt) => Of(JsonSerializer.SerializeToUtf8Bytes(receipt), receipt, null);
        public static Answer Of(EraseRefusal refusal) => Of(JsonSerializer.SerializeToUtf8Bytes(refusal), null, refusal);
        /// <summary>An answer as stored on the device's disk: the bytes it sent.</summary>
        public static Answer FromBytes(byte[] bytes) => SignedMessage.PeekType(bytes) == EraseRefusal.Type
            ? Of(bytes, null, JsonSerializer.Deserialize<EraseRefusal>(bytes))
            : Of(bytes, JsonSerializer.Deserialize<WipeReceipt>(bytes), null);
        private static Answer Of(byte[] bytes, WipeReceipt? receipt, EraseRefusal? refusal) =>
            new(bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)), receipt, refusal);
    }
}
