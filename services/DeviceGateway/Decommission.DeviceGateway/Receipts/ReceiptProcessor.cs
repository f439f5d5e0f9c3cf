using Decommission.Contracts;
using Decommission.DeviceGateway.Commands;
using Decommission.DeviceProtocol;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.DeviceGateway.Receipts;

/// <summary>
/// Verifies each receipt a device sends, keeps it with its verdict, and tells the saga: ErasureVerified or
/// ErasureRejected with the reason; then tells the device its verdict when the receipt is its own (<see cref="VerdictSender"/>).
/// A receipt redelivered after it verified is announced again (the saga ignores repeats) and accepted again. Refusals go to <see cref="RefusalProcessor"/>.
/// </summary>
public sealed class ReceiptProcessor(EraseCommandStore commands, AttestationKeyStore keys, RefusalProcessor refusals, VerdictSender verdicts, IBus bus,
    IOptions<DeviceGatewayOptions> options, TimeProvider clock, ILogger<ReceiptProcessor> logger)
{
    private readonly ReceiptVerifier _verifier = new(options.Value.MaxClockSkew);

    /// <summary>Verdicts a device reached about its own answer to our command: they end the erase. Any other rejection
    /// (forged, replayed, malformed, for another command) is not the device speaking: it is kept and the saga keeps waiting.</summary>
    private static readonly HashSet<string> Conclusive =
        [ReceiptRejectionReasons.Expired, ReceiptRejectionReasons.ClockSkew, ReceiptRejectionReasons.WeakMethod, ReceiptRejectionReasons.DeviceReportedFailure];

    /// <param name="sentBy">The device whose receipt topic it came on, when the channel knows: a receipt naming another device is
    /// rejected before any check.</param>
    public async Task<ReceiptVerdict> ProcessAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken, string? sentBy = null)
    {
        var now = clock.GetUtcNow();
        var cap = options.Value.MaxReceiptBytes;
        var tooLarge = body.Length > cap;
        // A device that will not erase says so where its receipt would go.
        if (!tooLarge && SignedMessage.PeekType(body.Span) == EraseRefusal.Type)
            return await refusals.ProcessAsync(body, cancellationToken);
        var (signed, sha256, problem) = tooLarge
            ? (null, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body.Span)), $"{body.Length} bytes, more than the {cap} a receipt may have")
            : ReceiptVerifier.Parse(body.Span);
        var receipt = signed?.Message;
        // Nothing beyond the cap is kept.
        var kept = tooLarge ? body[..cap] : body;

        var command = Guid.TryParse(receipt?.CommandId, out _) ? await commands.FindAsync(receipt!.CommandId, cancellationToken) : null;
        ReceiptVerdict verdict;
        IssuedCommand? pending = null;
        byte[]? identityCertificate = null;
        if (problem is not null)
        {
            verdict = ReceiptVerdict.Reject(ReceiptRejectionReasons.Malformed, problem);
        }
        else if (sentBy is not null && sentBy != receipt!.DeviceId)
        {
            verdict = ReceiptVerdict.Reject(ReceiptRejectionReasons.TopicMismatch,
                $"sent on the receipt topic of device {sentBy}, names device {receipt.DeviceId}");
        }
        else
        {
            var key = await keys.FindAsync(receipt!.DeviceId, cancellationToken);
            identityCertificate = key?.IdentityCertificate;
            pending = await commands.FindPendingAsync(receipt.DeviceId, cancellationToken);
            verdict = _verifier.Verify(signed!, sha256, new ReceiptFacts(key?.PublicKey, command, pending), now);
        }

        var about = command ?? pending;
        verdict = await commands.RecordReceiptAsync(
            new ReceivedReceipt(sha256, receipt?.CommandId, receipt?.DeviceId, about?.RetirementId, kept.ToArray(), now), verdict);

        if (verdict.Verdict is ReceiptVerdict.Verified or ReceiptVerdict.Duplicate)
        {
            // The trusted time is when the receipt first verified here: a redelivered duplicate keeps the first arrival's time.
            var receivedAt = verdict.IsVerified ? now : await commands.FindVerifiedReceivedAtAsync(sha256, cancellationToken) ?? now;
            // The device hears its verdict before the saga hears of the wipe: once the saga has it, the identity's revocation
            // removes the device's broker user and its session, and a verdict sent after that would reach nobody.
            await verdicts.SendAsync(command!, WipeReceipt.Type, sha256, verdict, cancellationToken);
            await bus.Publish(new ErasureVerified
            {
                RetirementId = command!.RetirementId,
                DeviceId = receipt!.DeviceId,
                CommandId = Guid.Parse(command.CommandId),
                Nonce = command.Nonce,
                VerifiedAt = now,
                Evidence = new ErasureEvidence
                {
                    Method = receipt.Method,
                    DestroyedKeyIds = receipt.DestroyedKeyIds,
                    AreasCovered = receipt.AreasCovered,
                    AreasNotCovered = receipt.AreasNotCovered,
                    SelfCheckPassed = receipt.SelfCheckPassed,
                    CompletedAt = ProtocolSigning.TryParseTimestamp(receipt.CompletedAt, out var completedAt) ? completedAt : now,
                    ReceiptReceivedAt = receivedAt,
                    ReceiptSha256 = sha256,
                    Receipt = Convert.ToBase64String(body.Span),
                    Command = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(command.Body)),
                    IdentityCertificate = identityCertificate is null ? "" : Convert.ToBase64String(identityCertificate),
                },
            }, cancellationToken);
            logger.LogInformation("Receipt {Sha256} verified command {CommandId} of {DeviceId}", sha256, command.CommandId, UntrustedText.Safe(receipt.DeviceId));
            return verdict;
        }

        logger.LogWarning("Receipt {Sha256} from {DeviceId} rejected: {Reason}: {Detail}", sha256, UntrustedText.Safe(receipt?.DeviceId ?? "(unreadable)"),
            verdict.Reason, UntrustedText.Safe(verdict.Detail));
        // Conclusive only when the device itself answered this very command (signature and command checked before these reasons).
        if (about is not null)
            await bus.Publish(AnswerChecks.Rejection(about, verdict,
                conclusive: Conclusive.Contains(verdict.Reason) && command is not null && command.CommandId == about.CommandId, now), cancellationToken);
        if (AnswerChecks.Attributable(verdict, command, receipt?.DeviceId))
            await verdicts.SendAsync(command!, WipeReceipt.Type, sha256, verdict, cancellationToken);
        return verdict;
    }
}
