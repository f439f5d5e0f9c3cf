using Dapper;
using Decommission.Contracts;
using Decommission.DeviceGateway.Channel;
using Decommission.DeviceProtocol;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// Takes the saga's erase order: the first attempt creates and signs the command (fresh nonce), every later attempt
/// re-sends the very same signed command, so a device that answers a late copy still answers the right nonce.
/// </summary>
public sealed class EraseDeviceConsumer(GatewayDatabase database, CommandSigningKey signingKey, IDeviceChannel channel, TimeProvider clock,
    ILogger<EraseDeviceConsumer> logger) : IConsumer<EraseDevice>
{
    public async Task Consume(ConsumeContext<EraseDevice> context)
    {
        var order = context.Message;
        var now = clock.GetUtcNow();
        string? existing;
        await using (var connection = await database.OpenAsync(context.CancellationToken))
        {
            existing = await connection.QuerySingleOrDefaultAsync<string>(
                "SELECT body FROM erase_commands WHERE command_id = @Id;", new { Id = order.CommandId.ToString() });
        }
        var signed = existing is null
            ? signingKey.Sign(new EraseCommand
            {
                CommandId = order.CommandId.ToString(),
                DeviceId = order.DeviceId,
                Nonce = ProtocolSigning.NewNonce(),
                IssuedAt = ProtocolSigning.Timestamp(now),
                ExpiresAt = ProtocolSigning.Timestamp(order.ExpiresAt),
                Method = ErasureMethods.CryptographicErase,
            })
            : null;
        var body = await database.Writes.WriteAsync(async (writer, transaction) =>
        {
            if (signed is not null)
            {
                // INSERT OR IGNORE: a concurrent redelivery that signed first keeps its nonce; we then send that one.
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

        if (order.AttemptExpiresAt <= now)
        {
            logger.LogWarning("Erase attempt {Attempt} for {DeviceId} arrived after it expired; not sent", order.Attempt, order.DeviceId);
            return;
        }
        await channel.SendAsync(command, order.AttemptExpiresAt, context.CancellationToken);
        logger.LogInformation("Sent erase command {CommandId} to {DeviceId} (attempt {Attempt})", command.CommandId, order.DeviceId, order.Attempt);
    }
}
