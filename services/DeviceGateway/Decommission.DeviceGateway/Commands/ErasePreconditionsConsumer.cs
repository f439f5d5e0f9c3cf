using Dapper;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// Keeps what the gateway must know before it erases anything, from the services that own it: which retirements the
/// credentials service quarantined, and which devices the inventory holds for legal reasons.
/// </summary>
public sealed class ErasePreconditionsConsumer(GatewayDatabase database) : IConsumer<DeviceQuarantined>, IConsumer<DeviceLegalHoldChanged>
{
    public Task Consume(ConsumeContext<DeviceQuarantined> context) =>
        database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync("""
            INSERT OR IGNORE INTO quarantines (retirement_id, device_id, quarantined_at) VALUES (@RetirementId, @DeviceId, @At);
            """, new { RetirementId = context.Message.RetirementId.ToString(), context.Message.DeviceId, At = context.Message.QuarantinedAt.ToString("O") },
            transaction));

    public Task Consume(ConsumeContext<DeviceLegalHoldChanged> context) =>
        database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync("""
            INSERT INTO legal_holds (device_id, held, reason, changed_by, changed_at) VALUES (@DeviceId, @Held, @Reason, @ChangedBy, @At)
            ON CONFLICT (device_id) DO UPDATE SET held = excluded.held, reason = excluded.reason, changed_by = excluded.changed_by,
                changed_at = excluded.changed_at
            WHERE excluded.changed_at >= legal_holds.changed_at;
            """, new { context.Message.DeviceId, context.Message.Held, context.Message.Reason, context.Message.ChangedBy, At = context.Message.ChangedAt.ToString("O") },
            transaction));
}
