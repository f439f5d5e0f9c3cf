using Decommission.Storage;
using Decommission.Outbox;
using Dapper;
using Decommission.Contracts;

namespace Decommission.Inventory.Devices;

/// <summary>
/// The inventory's devices (table devices): imports, legal holds, admission to a retirement and the status that follows it,
/// and the end-of-life scheduler's claims. The only class that reads or writes the table.
/// </summary>
public sealed class DeviceStore(InventoryDatabase database)
{
    // The end-of-life scan's predicate; the partial index ix_devices_end_of_life_due covers exactly it.
    private const string DueForEndOfLife = "status = 'Active' AND legal_hold = 0 AND eol_claimed_at IS NULL AND end_of_life IS NOT NULL";

    // Row locks for what a write reads and then changes: PostgreSQL's replicas share the table; SQLite's write lock is the file's.
    private string ForUpdate => database.Dialect == SqlDialect.Postgres ? "FOR UPDATE" : "";
    private string SkipLocked => database.Dialect == SqlDialect.Postgres ? "FOR UPDATE SKIP LOCKED" : "";

    /// <summary>
    /// Adds or updates the devices in one transaction; a device's status, hold and retirement are never changed by an import.
    /// Rows are written in device order, so imports by two replicas that share devices lock them in the same order (no deadlock).
    /// </summary>
    public async Task UpsertAsync(IReadOnlyList<ImportedDevice> devices, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = now.ToString("O");
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await ServiceDatabase.BeginWriteAsync(connection, cancellationToken);
        await connection.ExecuteAsync("""
            INSERT INTO devices (device_id, manufacturer, model, serial_number, asset_number, media_type, owner, site, network_segment, end_of_life, updated_at)
            VALUES (@DeviceId, @Manufacturer, @Model, @SerialNumber, @AssetNumber, @MediaType, @Owner, @Site, @NetworkSegment, @EndOfLife, @Now)
            ON CONFLICT (device_id) DO UPDATE SET
                manufacturer = excluded.manufacturer, model = excluded.model, serial_number = excluded.serial_number,
                asset_number = excluded.asset_number, media_type = excluded.media_type, owner = excluded.owner, site = excluded.site,
                network_segment = excluded.network_segment, end_of_life = excluded.end_of_life, updated_at = excluded.updated_at;
            """, devices.OrderBy(d => d.DeviceId, StringComparer.Ordinal).Select(d => new
        {
            d.DeviceId, d.Manufacturer, d.Model, d.SerialNumber, d.AssetNumber, d.MediaType, d.Owner, d.Site, d.NetworkSegment,
            EndOfLife = d.EndOfLife?.DayNumber, Now = at,
        }), transaction);
        transaction.Commit();
    }

    /// <summary>Sets or releases the device's legal hold; false when the device is not in the inventory.</summary>
    public async Task<bool> SetLegalHoldAsync(string deviceId, bool hold, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync("""
            UPDATE devices SET legal_hold = @Hold, hold_reason = @Reason, updated_at = @Now WHERE device_id = @DeviceId;
            """, new { Hold = hold ? 1 : 0, Reason = reason, Now = now.ToString("O"), DeviceId = deviceId }) > 0;
    }

    /// <summary>
    /// Applies <paramref name="rule"/> to the device and, when it refuses nothing, marks the device Retiring by the retirement:
    /// both in one write transaction, so two retirements of one device are never both admitted; <paramref name="announce"/>
    /// sends the answer, which the outbox writes in that transaction too.
    /// </summary>
    public Task<(InventoryDevice? Device, AdmissionRefusal? Refusal)> AdmitAsync(Guid retirementId, string deviceId,
        Func<InventoryDevice?, AdmissionRefusal?> rule, DateTimeOffset now, Func<(InventoryDevice? Device, AdmissionRefusal? Refusal), Task> announce) =>
        database.Writes.WriteAsync<(InventoryDevice?, AdmissionRefusal?)>(database, async (connection, transaction) =>
        {
            // Locked until the admission commits (PostgreSQL): a replica admitting another retirement of the device waits, then sees it.
            var row = await connection.QuerySingleOrDefaultAsync<DeviceRow>($"""
                SELECT device_id AS DeviceId, manufacturer AS Manufacturer, model AS Model, serial_number AS SerialNumber, asset_number AS AssetNumber,
                       media_type AS MediaType, owner AS Owner, site AS Site, legal_hold AS LegalHold, hold_reason AS HoldReason, status AS Status,
                       retirement_id AS RetirementId
                FROM devices WHERE device_id = @DeviceId {ForUpdate};
                """, new { DeviceId = deviceId }, transaction);
            var device = row?.ToDevice();
            var refusal = rule(device);
            if (refusal is null)
            {
                await connection.ExecuteAsync(
                    "UPDATE devices SET status = 'Retiring', retirement_id = @RetirementId, updated_at = @Now WHERE device_id = @DeviceId;",
                    new { RetirementId = retirementId.ToString(), Now = now.ToString("O"), DeviceId = deviceId }, transaction);
            }
            return (device, refusal);
        }, changed: _ => true, announce);

    /// <summary>Moves the device to <paramref name="status"/>, only if this retirement holds it: a stale event of an older retirement changes nothing.</summary>
    public Task SetStatusAsync(Guid retirementId, string deviceId, string status, DateTimeOffset now) =>
        database.Writes.WriteAsync(database, (connection, transaction) => connection.ExecuteAsync("""
            UPDATE devices SET status = @Status, updated_at = @Now WHERE device_id = @DeviceId AND retirement_id = @RetirementId;
            """, new { Status = status, Now = now.ToString("O"), DeviceId = deviceId, RetirementId = retirementId.ToString() }, transaction),
            changed: _ => true);

    /// <summary>
    /// Claims for <paramref name="instance"/>, in one write transaction, up to <paramref name="batch"/> devices due on or before
    /// <paramref name="today"/> for the new campaign <paramref name="campaignId"/>, and every claim left unsent since before
    /// <paramref name="staleBefore"/> (each keeps the campaign it was claimed for, so it is sent again as the same campaign).
    /// Two replicas never claim one device: on PostgreSQL with <c>FOR UPDATE SKIP LOCKED</c> and the claim's conditions
    /// checked again on the locked row.
    /// </summary>
    public Task<List<EndOfLifeClaim>> ClaimDueAsync(string instance, DateOnly today, int batch, DateTimeOffset staleBefore, DateTimeOffset now,
        Guid campaignId) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            // PostgreSQL: devices another replica is claiming are skipped, not waited for; the outer condition is checked again
            // on the row as it is once locked, so a device claimed meanwhile is never claimed twice.
            var due = (await connection.QueryAsync<ClaimRow>($"""
                UPDATE devices SET eol_claimed_at = @Now, eol_claimed_by = @Instance, eol_campaign_id = @Campaign
                WHERE device_id IN (
                    SELECT device_id FROM devices
                    WHERE {DueForEndOfLife} AND end_of_life <= @Today
                    ORDER BY end_of_life LIMIT @Batch {SkipLocked})
                  AND {DueForEndOfLife} AND end_of_life <= @Today
                RETURNING device_id AS DeviceId, end_of_life AS EndOfLife, eol_campaign_id AS CampaignId;
                """, new { Now = now.ToString("O"), Instance = instance, Today = today.DayNumber, Batch = batch, Campaign = campaignId.ToString() }, transaction))
                .ToList();
            var unsent = await connection.QueryAsync<ClaimRow>("""
                UPDATE devices SET eol_claimed_at = @Now, eol_claimed_by = @Instance, eol_campaign_id = COALESCE(eol_campaign_id, @Campaign)
                WHERE eol_claimed_at IS NOT NULL AND eol_sent_at IS NULL AND eol_claimed_at < @StaleBefore
                RETURNING device_id AS DeviceId, end_of_life AS EndOfLife, eol_campaign_id AS CampaignId;
                """, new { Now = now.ToString("O"), Instance = instance, StaleBefore = staleBefore.ToString("O"), Campaign = campaignId.ToString() }, transaction);
            due.AddRange(unsent);
            // (A claim from before campaigns, with no campaign id, was given this scan's, and keeps it.)
            return due.Select(d => new EndOfLifeClaim(d.DeviceId, DateOnly.FromDayNumber((int)d.EndOfLife), Guid.Parse(d.CampaignId!))).ToList();
        });

    /// <summary>Marks the claimed devices' retirement requests as sent.</summary>
    public Task MarkSentAsync(IEnumerable<string> deviceIds, DateTimeOffset sentAt) =>
        database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync(
            "UPDATE devices SET eol_sent_at = @Now WHERE device_id = @DeviceId AND eol_sent_at IS NULL;",
            deviceIds.Select(id => new { Now = sentAt.ToString("O"), DeviceId = id }), transaction));

    /// <summary>
    /// How many devices are due on or before <paramref name="until"/> and still active (not held), and the first
    /// <paramref name="limit"/> of them, soonest first — those already handed to one of the scheduler's campaigns with its id
    /// (a campaign refused or aborted before starting one leaves it active, so the notice keeps showing it).
    /// </summary>
    public async Task<(int Total, IReadOnlyList<DueDevice> Devices)> DueAsync(DateOnly until, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        const string due = "status = 'Active' AND legal_hold = 0 AND end_of_life IS NOT NULL AND end_of_life <= @Until";
        var total = await connection.ExecuteScalarAsync<int>($"SELECT COUNT(*) FROM devices WHERE {due};", new { Until = until.DayNumber });
        var rows = await connection.QueryAsync<(string DeviceId, long EndOfLife, string Site, string Model, string? CampaignId)>($"""
            SELECT device_id, end_of_life, site, model, CASE WHEN eol_claimed_at IS NULL THEN NULL ELSE eol_campaign_id END
            FROM devices WHERE {due} ORDER BY end_of_life, device_id LIMIT @Limit;
            """, new { Until = until.DayNumber, Limit = limit });
        return (total, rows.Select(r => new DueDevice
        {
            DeviceId = r.DeviceId, EndOfLife = DateOnly.FromDayNumber((int)r.EndOfLife), Site = r.Site, Model = r.Model,
            CampaignId = Guid.TryParse(r.CampaignId, out var id) ? id : null,
        }).ToList());
    }

    /// <summary>
    /// The devices of a campaign's selection, by id: active, not on legal hold, matching every field given (case aside); how
    /// many matched in all, and how many more matched but are held.
    /// </summary>
    public async Task<SelectedDevices> SelectAsync(DeviceSelection selection, int limit, CancellationToken cancellationToken)
    {
        var conditions = new List<string> { "status = 'Active'" };
        if (!string.IsNullOrWhiteSpace(selection.Site)) conditions.Add("LOWER(site) = LOWER(@Site)");
        if (!string.IsNullOrWhiteSpace(selection.Model)) conditions.Add("LOWER(model) = LOWER(@Model)");
        if (!string.IsNullOrWhiteSpace(selection.Owner)) conditions.Add("LOWER(owner) = LOWER(@Owner)");
        if (selection.EndOfLifeBy is not null) conditions.Add("end_of_life IS NOT NULL AND end_of_life <= @EndOfLifeBy");
        var matching = string.Join(" AND ", conditions);
        var parameters = new
        {
            Site = selection.Site?.Trim(), Model = selection.Model?.Trim(), Owner = selection.Owner?.Trim(), EndOfLifeBy = selection.EndOfLifeBy?.DayNumber,
            Limit = limit,
        };
        await using var connection = await database.OpenAsync(cancellationToken);
        var counts = await connection.QuerySingleAsync<(long Free, long Held)>(
            $"SELECT COUNT(CASE WHEN legal_hold = 0 THEN 1 END), COUNT(CASE WHEN legal_hold <> 0 THEN 1 END) FROM devices WHERE {matching};", parameters);
        var ids = await connection.QueryAsync<string>(
            $"SELECT device_id FROM devices WHERE {matching} AND legal_hold = 0 ORDER BY device_id LIMIT @Limit;", parameters);
        return new SelectedDevices { Total = (int)counts.Free, Held = (int)counts.Held, DeviceIds = ids.ToList() };
    }

    private sealed record DeviceRow(string DeviceId, string Manufacturer, string Model, string SerialNumber, string AssetNumber, string MediaType,
        string Owner, string Site, long LegalHold, string HoldReason, string Status, string? RetirementId)
    {
        public InventoryDevice ToDevice() =>
            new(DeviceId, Manufacturer, Model, SerialNumber, AssetNumber, MediaType, Owner, Site, LegalHold != 0, HoldReason, Status, RetirementId);
    }

    private sealed record ClaimRow(string DeviceId, long EndOfLife, string? CampaignId);
}

/// <summary>A checked row of an import.</summary>
public sealed record ImportedDevice(string DeviceId, string Manufacturer, string Model, string SerialNumber, string AssetNumber, string MediaType,
    string Owner, string Site, string NetworkSegment, DateOnly? EndOfLife);

/// <summary>A device the end-of-life scheduler claimed, with its end-of-life date.</summary>
public sealed record EndOfLifeClaim(string DeviceId, DateOnly EndOfLife, Guid CampaignId);
