using Decommission.Contracts;
using Decommission.DeviceGateway.Commands;
using Decommission.DeviceProtocol;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.DeviceGateway.Receipts;

/// <summary>
/// Verifies a refusal a device sends where its receipt would go, keeps it with its verdict beside the receipts, and tells
/// the saga: a verified refusal ends the erase attempt (ErasureRejected, Conclusive, DeviceRefused with the device's reason);
/// one that does not verify is reported as not conclusive, like a forged receipt, and the saga keeps waiting.
/// </summary>
public sealed class RefusalProcessor(EraseCommandStore commands, AttestationKeyStore keys, VerdictSender verdicts, IBus bus,
    IOptions<DeviceGatewayOptions> options, TimeProvider clock, ILogger<RefusalProcessor> logger)
{
    private readonly RefusalVerifier _verifier = new(options.Value.MaxClockSkew);

    public async Task<ReceiptVerdict> ProcessAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (signed, sha256, problem) = RefusalVerifier.Parse(body.Span);
        var refusal = signed?.Message;
        var command = Guid.TryParse(refusal?.CommandId, out _) ? await commands.FindAsync(refusal!.CommandId, cancellationToken) : null;
        IssuedCommand? pending = null;
        ReceiptVerdict verdict;
        if (problem is not null)
        {
            verdict = ReceiptVerdict.Reject(ReceiptRejectionReasons.Malformed, problem);
        }
        else
        {
            var key = await keys.FindAsync(refusal!.DeviceId, cancellationToken);
            pending = await commands.FindPendingAsync(refusal.DeviceId, cancellationToken);
            verdict = _verifier.Verify(signed!, sha256, new ReceiptFacts(key?.PublicKey, command, pending), now);
        }

        var about = command ?? pending;
        verdict = await commands.RecordReceiptAsync(
            new ReceivedReceipt(sha256, refusal?.CommandId, refusal?.DeviceId, about?.RetirementId, body.ToArray(), now) { MessageType = EraseRefusal.Type }, verdict);

        var refused = verdict.Verdict is ReceiptVerdict.Verified or ReceiptVerdict.Duplicate;
        if (refused)
            logger.LogWarning("Device {DeviceId} refused command {CommandId}: {Detail}", UntrustedText.Safe(refusal!.DeviceId), command!.CommandId, verdict.Detail);
        else
            logger.LogWarning("Refusal {Sha256} from {DeviceId} rejected: {Reason}: {Detail}", sha256, UntrustedText.Safe(refusal?.DeviceId ?? "(unreadable)"),
                verdict.Reason, UntrustedText.Safe(verdict.Detail));
        // Only the device's own verified refusal of this very command ends the erase.
        if (about is not null)
            await bus.Publish(AnswerChecks.Rejection(about, verdict, conclusive: refused && command is not null && command.CommandId == about.CommandId, now),
                cancellationToken);
        if (AnswerChecks.Attributable(verdict, command, refusal?.DeviceId))
            await verdicts.SendAsync(command!, EraseRefusal.Type, sha256, verdict, cancellationToken);
        return verdict;
    }
}
