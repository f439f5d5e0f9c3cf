using Dapper;
using Decommission.Contracts;
using Decommission.DeviceGateway.Channel;
using Decommission.DeviceProtocol;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// Takes the saga's erase order: the first attempt creates and signs the command with the saga's nonce, every later attempt
/// re-sends the very same signed command, so a device that answers a late copy still answers the right nonce.
/// An order is carried out only for a retirement the credentials service announced as quarantined, and never for a
/// device under legal hold: an order from anyone else who can reach the queue erases nothing.
/// </summary>
public sealed class EraseDeviceConsumer(GatewayDatabase database, CommandSigningKey signingKey, IDeviceChannel channel, TimeProvider clock,
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

        string? existing;
        long quarantined;
        HoldRow? hold;
        await using (var connection = await database.OpenAsync(context.CancellationToken))
        {
            existing = await connection.QuerySingleOrDefaultAsync<string>(
                "SELECT body FROM erase_commands WHERE command_id = @Id;", new { Id = order.CommandId.ToString() });
            quarantined = await connection.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM quarantines WHERE retirement_id = @RetirementId AND device_id = @DeviceId;",
                new { RetirementId = order.RetirementId.ToString(), order.DeviceId });
            hold = await connection.QuerySingleOrDefaultAsync<HoldRow>(
                "SELECT held AS Held, reason AS Reason FROM legal_holds WHERE device_id = @DeviceId;", new { order.DeviceId });
        }

        if (hold is { Held: not 0 } held)
        {
            logger.LogWarning("Erase of {DeviceId} refused: the device is under legal hold", UntrustedText.Safe(order.DeviceId));
            await context.Publish(new ErasureRejected
            {
                RetirementId = order.RetirementId, DeviceId = order.DeviceId, CommandId = order.CommandId, Nonce = order.Nonce,
                Reason = ReceiptRejectionReasons.LegalHold, Detail = $"the device is under legal hold ({held.Reason}); nothing was sent to it",
                Conclusive = true, RejectedAt = now,
            });
            return;
        }
        // The quarantine event and the order travel on different queues: a genuine order may arrive first, so it is retried.
        if (quarantined == 0)
            throw new NotQuarantinedException(
                $"no quarantine of {UntrustedText.Safe(order.DeviceId)} for retirement {order.RetirementId} was announced by the credentials service; nothing was sent");

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
        var body = await database.Writes.WriteAsync(async (writer, transaction) =>
        {
            if (signed is not null)
            {
                // INSERT OR IGNORE: a concurrent redelivery that signed first keeps its command; we then send that one.
                await writer.ExecuteAsync("""
                    INSERT OR IGNORE INTO erase_commands
                        (command_id, retirement_id, device_id, body, nonce, issued_at_ms, expires_at_ms, attempts, status, updated_at)
                    VALUES (@CommandId, @RetirementId, @DeviceId, @Body, @Nonce, @IssuedAtMs, @ExpiresAtMs, @Attempt, 'Pending', @Now);
                    """, new
                {
                    signed.CommandId, RetirementId = order.RetirementId.ToString(), signed.DeviceId, Body = Wire.Serialize(signed), signed.Nonce,
                    IssuedAtMs = now.ToUnixTimeMilliseconds(), ExpiresAtMs = order.ExpiresAt.ToUnixTimeMilliseconds(), order.Attempt, Now = now.ToString("O"),
                }, transaction);
            }
            await writer.ExecuteAsync(
                "UPDATE erase_commands SET attempts = MAX(attempts, @Attempt), updated_at = @Now WHERE command_id = @Id;",
                new { order.Attempt, Now = now.ToString("O"), Id = order.CommandId.ToString() }, transaction);
            return await writer.QuerySingleAsync<string>("SELECT body FROM erase_commands WHERE command_id = @Id;",
                new { Id = order.CommandId.ToString() }, transaction);
        });
        var command = Wire.Deserialize<EraseCommand>(body);
        if (command.DeviceId != order.DeviceId || command.Nonce != order.Nonce)
            throw new EraseOrderRefusedException($"command {order.CommandId} was issued to {UntrustedText.Safe(command.DeviceId)} with another nonce; the order does not match it");

        if (order.AttemptExpiresAt <= now)
        {
            logger.LogWarning("Erase attempt {Attempt} for {DeviceId} arrived after it expired; not sent", order.Attempt, UntrustedText.Safe(order.DeviceId));
            return;
        }
        await channel.SendAsync(command, order.AttemptExpiresAt, context.CancellationToken);
        logger.LogInformation("Sent erase command {CommandId} to {DeviceId} (attempt {Attempt})", command.CommandId, UntrustedText.Safe(order.DeviceId), order.Attempt);
    }

    private sealed record HoldRow(long Held, string Reason);
}

/// <summary>An erase order no retry can make valid.</summary>
public sealed class EraseOrderRefusedException(string message) : Exception(message);

/// <summary>An erase order for a retirement whose quarantine the gateway has not (yet) heard of.</summary>
public sealed class NotQuarantinedException(string message) : Exception(message);
