using System.Text.Json;
using Decommission.DeviceGateway.Channel;
using Decommission.DeviceGateway.Commands;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceGateway.Receipts;

/// <summary>
/// Tells a device what the gateway decided about its receipt or refusal, in a verdict signed with the command-signing key:
/// accepted (verified, or the very answer that verified before) or rejected with the reason. Only for answers the device's
/// own key signed to a command issued to it (<see cref="AnswerChecks.Attributable"/>); a forger is told nothing.
/// </summary>
public sealed class VerdictSender(CommandSigningKey signingKey, IServiceProvider services, TimeProvider clock, ILogger<VerdictSender> logger)
{
    // Resolved when first used: the channel itself depends on the receipt processor that sends verdicts.
    private IDeviceChannel Channel => services.GetRequiredService<IDeviceChannel>();

    /// <param name="answerType"><see cref="WipeReceipt.Type"/> or <see cref="EraseRefusal.Type"/>.</param>
    public async Task SendAsync(IssuedCommand command, string answerType, string answerSha256, ReceiptVerdict verdict, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (command.ExpiresAt <= now)
        {
            logger.LogInformation("No verdict on command {CommandId} of {DeviceId}: the command expired, nothing reaches the device any more",
                command.CommandId, UntrustedText.Safe(command.DeviceId));
            return;
        }
        var accepted = verdict.Verdict is ReceiptVerdict.Verified or ReceiptVerdict.Duplicate;
        var signed = signingKey.Sign(new EraseVerdict
        {
            VerdictId = Guid.NewGuid().ToString(),
            CommandId = command.CommandId,
            DeviceId = command.DeviceId,
            ReceiptSha256 = answerType == EraseRefusal.Type ? null : answerSha256,
            RefusalSha256 = answerType == EraseRefusal.Type ? answerSha256 : null,
            Verdict = accepted ? EraseVerdict.Accepted : EraseVerdict.Rejected,
            Reason = accepted ? null : verdict.Reason,
            Detail = accepted ? null : UntrustedText.Safe(verdict.Detail),
            DecidedAt = ProtocolSigning.Timestamp(now),
        });
        await Channel.SendVerdictAsync(command.DeviceId, signed.VerdictId, JsonSerializer.SerializeToUtf8Bytes(signed), command.ExpiresAt, cancellationToken);
        logger.LogInformation("Verdict {Verdict} {Reason} on {Sha256} sent to {DeviceId}", signed.Verdict, signed.Reason, answerSha256, UntrustedText.Safe(command.DeviceId));
    }
}
