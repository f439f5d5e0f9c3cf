using Dapper;
using Decommission.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// Quarantine: every operational credential is revoked (its hash destroyed, so it can never validate again) and the device
/// moves to the quarantine segment. The identity (attestation) credential stays: the wipe needs it. A repeat answers the same.
/// </summary>
public sealed class QuarantineDeviceConsumer(CredentialsDatabase database, AdmittedRetirements admitted, IOptions<CredentialsOptions> options,
    TimeProvider clock, ILogger<QuarantineDeviceConsumer> logger) : IConsumer<QuarantineDevice>
{
    public async Task Consume(ConsumeContext<QuarantineDevice> context)
    {
        var order = context.Message;
        // Only inside a retirement the inventory admitted: the orchestrator's order alone revokes nothing.
        await admitted.EnsureAdmittedAsync(order.RetirementId, order.DeviceId, context.CancellationToken);
        var now = clock.GetUtcNow();
        var quarantined = await database.Writes.WriteAsync<(List<(string Id, string Kind, string RevokedAt)> Revoked, string Segment)?>(
            async (connection, transaction) =>
        {
            if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM devices WHERE device_id = @DeviceId;", new { order.DeviceId }, transaction) == 0)
                return null;
            await connection.ExecuteAsync("""
                UPDATE credentials SET hash = NULL, revoked_at = @Now, revoked_for = @RetirementId
                WHERE device_id = @DeviceId AND revoked_at IS NULL;
                """, new { Now = now.ToString("O"), RetirementId = order.RetirementId.ToString(), order.DeviceId }, transaction);
            await connection.ExecuteAsync("""
                UPDATE devices SET network_segment = @Segment, quarantined_at = COALESCE(quarantined_at, @Now),
                                   quarantined_for = COALESCE(quarantined_for, @RetirementId)
                WHERE device_id = @DeviceId;
                """, new { Segment = options.Value.QuarantineSegment, Now = now.ToString("O"), RetirementId = order.RetirementId.ToString(), order.DeviceId },
                transaction);
            var revoked = (await connection.QueryAsync<(string Id, string Kind, string RevokedAt)>(
                "SELECT credential_id AS Id, kind AS Kind, revoked_at AS RevokedAt FROM credentials WHERE device_id = @DeviceId ORDER BY kind;",
                new { order.DeviceId }, transaction)).ToList();
            var segment = await connection.QuerySingleAsync<string>("SELECT network_segment FROM devices WHERE device_id = @DeviceId;", new { order.DeviceId }, transaction);
            return (revoked, segment);
        });

        if (quarantined is not { } done)
        {
            await context.Publish(new QuarantineRefused
            {
                RetirementId = order.RetirementId, DeviceId = order.DeviceId,
                Reason = RefusalReasons.UnknownDevice, Detail = $"device {order.DeviceId} was never enrolled with the credentials service",
            });
            return;
        }

        // The destroyed hashes were zeroed in the pages; the WAL still holds the pages as they were until it is checkpointed away.
        await database.TruncateWalAsync(context.CancellationToken);
        var (revoked, segment) = done;
        logger.LogInformation("Quarantined {DeviceId}: {Count} credentials revoked, segment {Segment}", order.DeviceId, revoked.Count, segment);
        await context.Publish(new DeviceQuarantined
        {
            RetirementId = order.RetirementId,
            DeviceId = order.DeviceId,
            RevokedCredentials = revoked.Select(c => new RevokedCredential
            {
                Kind = c.Kind, CredentialId = c.Id, RevokedAt = DateTimeOffset.Parse(c.RevokedAt, System.Globalization.CultureInfo.InvariantCulture),
            }).ToList(),
            NetworkSegment = segment,
            QuarantinedAt = now,
        });
    }
}
