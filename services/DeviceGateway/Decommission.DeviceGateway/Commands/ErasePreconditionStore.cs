using Dapper;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// What the gateway must know before it erases, as the owning services announced it (tables quarantines and legal_holds):
/// which retirements the credentials service quarantined, and which devices the inventory holds for legal reasons.
/// </summary>
public sealed class ErasePreconditionStore(GatewayDatabase database)
{
    public Task RecordQuarantineAsync(Guid retirementId, string deviceId, DateTimeOffset quarantinedAt) =>
        database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync("""
            INSERT INTO quarantines (retirement_id, device_id, quarantined_at) VALUES (@RetirementId, @DeviceId, @At)
            ON CONFLICT (retirement_id) DO NOTHING;
            """, new { RetirementId = retirementId.ToString(), DeviceId = deviceId, At = quarantinedAt.ToString("O") }, transaction));

    /// <summary>Keeps the newest hold state of the device: an older announcement delivered late changes nothing. One statement:
    /// replicas recording announcements of one device at once are ordered by the row's lock, and the newest stays.</summary>
    public Task RecordLegalHoldAsync(string deviceId, bool held, string reason, string changedBy, DateTimeOffset changedAt) =>
        database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync("""
            INSERT INTO legal_holds (device_id, held, reason, changed_by, changed_at) VALUES (@DeviceId, @Held, @Reason, @ChangedBy, @At)
            ON CONFLICT (device_id) DO UPDATE SET held = excluded.held, reason = excluded.reason, changed_by = excluded.changed_by,
                changed_at = excluded.changed_at
            WHERE excluded.changed_at >= legal_holds.changed_at;
            """, new { DeviceId = deviceId, Held = held ? 1 : 0, Reason = reason, ChangedBy = changedBy, At = changedAt.ToString("O") }, transaction));

    /// <summary>Whether the credentials service announced the quarantine of this device for this retirement.</summary>
    public async Task<bool> IsQuarantinedAsync(Guid retirementId, string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM quarantines WHERE retirement_id = @RetirementId AND device_id = @DeviceId;",
            new { RetirementId = retirementId.ToString(), DeviceId = deviceId }) > 0;
    }

    /// <summary>The reason the device is under legal hold, or null when it is not held.</summary>
    public async Task<string?> HoldReasonAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var hold = await connection.QuerySingleOrDefaultAsync<HoldRow>(
            "SELECT held AS Held, reason AS Reason FROM legal_holds WHERE device_id = @DeviceId;", new { DeviceId = deviceId });
        return hold is { Held: not 0 } ? hold.Reason : null;
    }

    private sealed record HoldRow(long Held, string Reason);
}
