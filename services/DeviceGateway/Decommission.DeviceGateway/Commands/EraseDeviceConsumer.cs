using Decommission.Contracts;
using Decommission.DeviceGateway.Channel;
using Decommission.DeviceProtocol;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// Takes the saga's erase order: the first attempt creates and signs the command with the saga's nonce, every later attempt
/// re-sends the very same signed command, so a device that answers a late copy still answers the right nonce, and a device
/// that gets two copies answers the second from the receipt it already gave (the gateway counts that one a Duplicate).
/// An order is carried out only for a retirement the credentials service announced as quarantined, and never for a
/// device under legal hold: an order from anyone else who can reach the queue erases nothing.
/// </summary>
public sealed class EraseDeviceConsumer(EraseCommandStore commands, ErasePreconditionStore preconditions, CommandSigningKey signingKey, IDeviceChannel channel, TimeProvider clock,
    ILogger<EraseDeviceConsumer> logger) : IConsumer<EraseDevice>
{
    public async Task Consume(ConsumeContext<EraseDevice> context)
    {
        var order = context.Message;
        var now = clock.GetUtcNow();
        if (string.IsNullOrWhiteSpace(order.DeviceId) || order.CommandId == Guid.Empty || order.RetirementId == Guid.Empty)
            throw new EraseOrderRefusedException("EraseDevice needs a RetirementId, a DeviceId and a CommandId.");
        if (order.Nonce.Length < 22 || !order.Nonce.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new EraseOrderRefusedException($"EraseDevice for {UntrustedText.Safe(order.DeviceId)} carries no usable nonce (at least 128 bits, base64url).");

        var existing = await commands.FindBodyAsync(order.CommandId, context.CancellationToken);
        var quarantined = await preconditions.IsQuarantinedAsync(order.RetirementId, order.DeviceId, context.CancellationToken);
        if (await preconditions.HoldReasonAsync(order.DeviceId, context.CancellationToken) is { } holdReason)
        {
            logger.LogWarning("Erase of {DeviceId} refused: the device is under legal hold", UntrustedText.Safe(order.DeviceId));
            await context.Publish(new ErasureRejected
            {
                RetirementId = order.RetirementId, DeviceId = order.DeviceId, CommandId = order.CommandId, Nonce = order.Nonce,
                Reason = ReceiptRejectionReasons.LegalHold, Detail = $"the device is under legal hold ({holdReason}); nothing was sent to it",
                Conclusive = true, RejectedAt = now,
            });
            return;
        }
        // The quarantine event and the order travel on different queues: a genuine order may arrive first, so it is retried.
        if (!quarantined)
            throw new NotQuarantinedException(
                $"no quarantine of {UntrustedText.Safe(order.DeviceId)} for retirement {order.RetirementId} was announced by the credentials service; nothing was sent");

        // Signed once: only the first attempt's signature is kept, every later attempt re-sends the stored command.
        var signed = existing is null
            ? signingKey.Sign(new EraseCommand
            {
                CommandId = order.CommandId.ToString(),
                DeviceId = order.DeviceId,
                RetirementId = order.RetirementId.ToString(),
                Nonce = order.Nonce,
                IssuedAt = ProtocolSigning.Timestamp(now),
                ExpiresAt = ProtocolSigning.Timestamp(order.ExpiresAt),
                Method = ErasureMethods.CryptographicErase,
            })
            : null;
        var body = await commands.RecordAttemptAsync(order.CommandId, order.RetirementId, signed, order.ExpiresAt, order.Attempt, now);
        var command = Wire.Deserialize<EraseCommand>(body);
        if (command.DeviceId != order.DeviceId || command.Nonce != order.Nonce)
            throw new EraseOrderRefusedException($"command {order.CommandId} was issued to {UntrustedText.Safe(command.DeviceId)} with another nonce; the order does not match it");

        // The copy waits for the device until the signed command expires, not just until this attempt ends: a device offline
        // longer than the attempts still finds it. The channel keeps one copy per device, so re-sends do not pile up.
        var expiresAt = ProtocolSigning.TryParseTimestamp(command.ExpiresAt, out var signedExpiry) ? signedExpiry : order.ExpiresAt;
        if (expiresAt <= now)
        {
            logger.LogWarning("Erase attempt {Attempt} for {DeviceId} arrived after its command expired; not sent", order.Attempt, UntrustedText.Safe(order.DeviceId));
            return;
        }
        await channel.SendAsync(command, expiresAt, context.CancellationToken);
        logger.LogInformation("Sent erase command {CommandId} to {DeviceId} (attempt {Attempt})", command.CommandId, UntrustedText.Safe(order.DeviceId), order.Attempt);
    }
}

/// <summary>An erase order no retry can make valid.</summary>
public sealed class EraseOrderRefusedException(string message) : Exception(message);

/// <summary>An erase order for a retirement whose quarantine the gateway has not (yet) heard of.</summary>
public sealed class NotQuarantinedException(string message) : Exception(message);
