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

    /// <summary>The device refused it in a refusal that verified (<see cref="VerifiedBySha256"/> is that refusal's hash).</summary>
    public bool Refused { get; init; }

    /// <summary>A receipt verified it or the device refused it: no other answer counts any more.</summary>
    public bool Answered => Verified || Refused;
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

        if (AnswerChecks.Check(new DeviceAnswer("receipt", receipt.DeviceId, receipt.CommandId, receipt.Nonce, receipt.CompletedAt, receipt.KeyId,
                receipt.Signature, signed.SignedBytes), facts, receivedAt, maxClockSkew) is { } rejected)
            return rejected;
        if (!ErasureMethods.IsPurge(receipt.Method))
            return ReceiptVerdict.Reject(R.WeakMethod, $"method {receipt.Method} does not meet the Purge policy (CryptographicErase)");
        if (receipt.Outcome != ErasureMethods.Succeeded || !receipt.SelfCheckPassed)
            return ReceiptVerdict.Reject(R.DeviceReportedFailure, $"outcome {receipt.Outcome}, self-check {(receipt.SelfCheckPassed ? "passed" : "failed")}: {receipt.SelfCheckDetail}");

        return ReceiptVerdict.Ok();
    }
}
