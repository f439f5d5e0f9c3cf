using System.Security.Cryptography;
using Decommission.DeviceProtocol;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Receipts;

/// <summary>
/// Decides whether a refusal is the device's own answer to a command it still owes: checked like a receipt (signature by
/// the registered attestation key, command, nonce, expiry, clock), with a reason code from the protocol's list.
/// A refusal that verifies ends the erase attempt; one that does not is kept and changes nothing.
/// </summary>
public sealed class RefusalVerifier(TimeSpan maxClockSkew)
{
    public static (SignedMessage<EraseRefusal>? Refusal, string Sha256, string? Problem) Parse(ReadOnlySpan<byte> body)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(body));
        var (signed, problem) = SignedMessage.Parse<EraseRefusal>(body, EraseRefusal.Type);
        if (signed is null)
            return (null, sha256, problem);

        var refusal = signed.Message;
        var missing = new List<string>();
        if (!Guid.TryParse(refusal.CommandId, out _)) missing.Add("commandId");
        foreach (var (name, value) in new[]
                 {
                     ("refusalId", refusal.RefusalId), ("deviceId", refusal.DeviceId), ("nonce", refusal.Nonce), ("keyId", refusal.KeyId), ("signature", refusal.Signature),
                 })
            if (string.IsNullOrWhiteSpace(value)) missing.Add(name);
        if (!RefusalReasons.All.Contains(refusal.Reason)) missing.Add($"reason (one of {string.Join(", ", RefusalReasons.All)})");
        if (!ProtocolSigning.TryParseTimestamp(refusal.RefusedAt, out _)) missing.Add("refusedAt (RFC 3339 UTC)");
        return missing.Count > 0 ? (signed, sha256, $"missing or invalid: {string.Join(", ", missing)}") : (signed, sha256, null);
    }

    /// <returns>Verified with reason DeviceRefused and the device's reason and (escaped) detail; Duplicate for the very refusal
    /// that verified before; otherwise Rejected with the first failed check.</returns>
    public ReceiptVerdict Verify(SignedMessage<EraseRefusal> signed, string sha256, ReceiptFacts facts, DateTimeOffset receivedAt)
    {
        var refusal = signed.Message;
        if (facts.Command is { Refused: true } answered && answered.VerifiedBySha256 == sha256)
            return new ReceiptVerdict(ReceiptVerdict.Duplicate, R.DeviceRefused, "this refusal already ended its command's erase");
        if (AnswerChecks.Check(new DeviceAnswer("refusal", refusal.DeviceId, refusal.CommandId, refusal.Nonce, refusal.RefusedAt, refusal.KeyId,
                refusal.Signature, signed.SignedBytes), facts, receivedAt, maxClockSkew) is { } rejected)
            return rejected;
        return new ReceiptVerdict(ReceiptVerdict.Verified, R.DeviceRefused, Describe(refusal));
    }

    /// <summary>The device's reason code and its own words, made safe for logs, the audit trail and the operator's terminal.</summary>
    public static string Describe(EraseRefusal refusal) =>
        string.IsNullOrEmpty(refusal.Detail) ? refusal.Reason : $"{refusal.Reason}: {UntrustedText.Safe(refusal.Detail, 256)}";
}
