using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using Decommission.Storage;

namespace Decommission.Orchestrator.Campaigns;

/// <summary>
/// Campaigns, their devices and their own audit trail, in the orchestrator's database. Every change of a campaign is one
/// write transaction that locks its row (PostgreSQL; SQLite has one writer), so replicas never start two devices in one
/// pace slot nor act on a campaign another replica just ended.
/// </summary>
public sealed class CampaignStore(OrchestratorDatabase database)
{
    /// <summary>The retirement a campaign's device starts: the message id of its RetireDevice, the same every time it is sent.</summary>
    public static Guid RetirementIdFor(Guid campaignId, string deviceId) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes($"campaign\n{campaignId:N}\n{deviceId}")).AsSpan(0, 16));

    /// <summary>Stores a new campaign in <paramref name="state"/>; a campaign id already stored is left as it is (a redelivery).</summary>
    public Task<bool> CreateAsync(StartCampaign order, string state, DateTimeOffset now) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            if (await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM campaigns WHERE campaign_id = @Id;",
                    new { Id = order.CampaignId.ToString() }, transaction) > 0)
                return false;
            await connection.ExecuteAsync("""
                INSERT INTO campaigns (campaign_id, name, state, settings, requested_by, requested_by_key, next_start_ms, created_at, updated_at)
                VALUES (@Id, @Name, @State, @Settings, @RequestedBy, @RequestedByKey, @NextStart, @Now, @Now);
                """, new
            {
                Id = order.CampaignId.ToString(), order.Name, State = state, Settings = JsonSerializer.Serialize(order), order.RequestedBy, order.RequestedByKey,
                NextStart = now.ToUnixTimeMilliseconds(), Now = now.ToString("O"),
            }, transaction);
            await connection.ExecuteAsync("""
                INSERT INTO campaign_devices (campaign_id, position, device_id, retirement_id) VALUES (@Id, @Position, @DeviceId, @RetirementId);
                """, order.DeviceIds.Select((device, i) => new
            {
                Id = order.CampaignId.ToString(), Position = i, DeviceId = device, RetirementId = RetirementIdFor(order.CampaignId, device).ToString(),
            }), transaction);
            await AppendAsync(connection, transaction, order.CampaignId, "created", order.RequestedBy,
                $"{order.DeviceIds.Count} devices, {order.PacePerMinute.ToString(CultureInfo.InvariantCulture)} per minute; {state}", now);
            return true;
        });

    public async Task<CampaignRow?> FindAsync(Guid campaignId)
    {
        await using var connection = await database.OpenAsync();
        return await connection.QuerySingleOrDefaultAsync<CampaignRow>($"{SelectCampaign} WHERE campaign_id = @Id;", new { Id = campaignId.ToString() });
    }

    /// <summary>Campaigns, newest first.</summary>
    public async Task<IReadOnlyList<CampaignRow>> ListAsync(int limit)
    {
        await using var connection = await database.OpenAsync();
        return (await connection.QueryAsync<CampaignRow>($"{SelectCampaign} ORDER BY created_at DESC LIMIT @Limit;", new { Limit = limit })).ToList();
    }

    /// <summary>The campaigns that may still start devices.</summary>
    public async Task<IReadOnlyList<CampaignRow>> RunningAsync()
    {
        await using var connection = await database.OpenAsync();
        return (await connection.QueryAsync<CampaignRow>($"{SelectCampaign} WHERE state = @State;", new { State = CampaignStates.Running })).ToList();
    }

    /// <summary>
    /// Applies an operator's action under the campaign's lock; the refusal's reason, or null when it was applied. A repeat of
    /// an action already in effect (pausing a paused campaign) is applied without a change.
    /// </summary>
    public Task<string?> ChangeAsync(ChangeCampaign order, DateTimeOffset now) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            if (await LockAsync(connection, transaction, order.CampaignId) is not { } campaign)
                return "no such campaign";
            var (to, refusal) = (order.Action, campaign.State) switch
            {
                (CampaignActions.Pause, CampaignStates.Running or CampaignStates.Paused) => (CampaignStates.Paused, null),
                (CampaignActions.Resume, CampaignStates.Paused or CampaignStates.Running) => (CampaignStates.Running, null),
                (CampaignActions.Abort, CampaignStates.Running or CampaignStates.Paused or CampaignStates.AwaitingApproval or CampaignStates.Aborted)
                    => (CampaignStates.Aborted, null),
                (CampaignActions.Approve or CampaignActions.Refuse, CampaignStates.AwaitingApproval)
                    when order.RequestedByKey == campaign.RequestedByKey || order.RequestedBy == campaign.RequestedBy
                    => ((string?)null, $"{order.RequestedBy} asked for this campaign and cannot also approve or refuse it: a second person must"),
                (CampaignActions.Approve, CampaignStates.AwaitingApproval) => (CampaignStates.Running, null),
                (CampaignActions.Refuse, CampaignStates.AwaitingApproval) => (CampaignStates.Refused, null),
                _ => (null, $"cannot {order.Action} a campaign that is {campaign.State}"),
            };
            if (refusal is not null || to is null)
            {
                await AppendAsync(connection, transaction, order.CampaignId, $"{order.Action} refused", order.RequestedBy, refusal ?? "", now);
                return refusal;
            }
            if (to == campaign.State)
                return null;
            await connection.ExecuteAsync("""
                UPDATE campaigns SET state = @State, updated_at = @Now,
                    approved_by = CASE WHEN @Approved THEN @By ELSE approved_by END,
                    end_reason = CASE WHEN @Ends THEN @Reason ELSE end_reason END,
                    next_start_ms = CASE WHEN @Resumes THEN @NowMs ELSE next_start_ms END
                WHERE campaign_id = @Id;
                """, new
            {
                Id = order.CampaignId.ToString(), State = to, Now = now.ToString("O"), NowMs = now.ToUnixTimeMilliseconds(), By = order.RequestedBy,
                Approved = order.Action == CampaignActions.Approve, Ends = CampaignStates.Ended.Contains(to),
                Resumes = to == CampaignStates.Running,
                Reason = $"{order.Action} by {order.RequestedBy}" + (string.IsNullOrWhiteSpace(order.Note) ? "" : $": {order.Note}"),
            }, transaction);
            await AppendAsync(connection, transaction, order.CampaignId, order.Action, order.RequestedBy, order.Note ?? "", now);
            return null;
        });

    /// <summary>Ends a running or paused campaign (its abort criteria met, or every device finished); false when it had ended already.</summary>
    public Task<bool> EndAsync(Guid campaignId, string state, string reason, DateTimeOffset now) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            if (await LockAsync(connection, transaction, campaignId) is not { } campaign || CampaignStates.Ended.Contains(campaign.State))
                return false;
            await connection.ExecuteAsync("UPDATE campaigns SET state = @State, end_reason = @Reason, updated_at = @Now WHERE campaign_id = @Id;",
                new { Id = campaignId.ToString(), State = state, Reason = reason, Now = now.ToString("O") }, transaction);
            await AppendAsync(connection, transaction, campaignId, state == CampaignStates.Aborted ? "aborted" : "completed", "orchestrator", reason, now);
            return true;
        });

    /// <summary>
    /// Claims the campaign's next device if it is running and its pace allows a start now; the next start is then
    /// <paramref name="interval"/> later. Null when nothing may start (paused, ended, not yet time, every device started).
    /// </summary>
    public Task<CampaignDevice?> StartNextAsync(Guid campaignId, DateTimeOffset now, TimeSpan interval) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            var nowMs = now.ToUnixTimeMilliseconds();
            if (await LockAsync(connection, transaction, campaignId) is not { State: CampaignStates.Running } campaign
                || campaign.NextStartMs is { } next && next > nowMs)
                return null;
            var device = await connection.QuerySingleOrDefaultAsync<CampaignDevice>("""
                SELECT campaign_id AS CampaignId, CAST(position AS BIGINT) AS Position, device_id AS DeviceId, retirement_id AS RetirementId
                FROM campaign_devices WHERE campaign_id = @Id AND started_at_ms IS NULL ORDER BY position LIMIT 1;
                """, new { Id = campaignId.ToString() }, transaction);
            if (device is null)
                return null;
            await connection.ExecuteAsync("UPDATE campaign_devices SET started_at_ms = @Now WHERE campaign_id = @Id AND position = @Position;",
                new { Id = campaignId.ToString(), device.Position, Now = nowMs }, transaction);
            await connection.ExecuteAsync("UPDATE campaigns SET next_start_ms = @Next, updated_at = @At WHERE campaign_id = @Id;",
                new { Id = campaignId.ToString(), Next = nowMs + (long)Math.Ceiling(interval.TotalMilliseconds), At = now.ToString("O") }, transaction);
            await AppendAsync(connection, transaction, campaignId, "device started", "orchestrator", device.DeviceId, now);
            return device;
        });

    public Task MarkSentAsync(CampaignDevice device, DateTimeOffset now) =>
        database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync(
            "UPDATE campaign_devices SET sent_at_ms = @Now WHERE campaign_id = @Id AND position = @Position AND sent_at_ms IS NULL;",
            new { Id = device.CampaignId, device.Position, Now = now.ToUnixTimeMilliseconds() }, transaction));

    /// <summary>Devices started before <paramref name="before"/> whose RetireDevice was never confirmed sent, in any campaign.</summary>
    public async Task<IReadOnlyList<CampaignDevice>> UnsentAsync(DateTimeOffset before, int limit)
    {
        await using var connection = await database.OpenAsync();
        return (await connection.QueryAsync<CampaignDevice>("""
            SELECT campaign_id AS CampaignId, CAST(position AS BIGINT) AS Position, device_id AS DeviceId, retirement_id AS RetirementId
            FROM campaign_devices WHERE started_at_ms IS NOT NULL AND sent_at_ms IS NULL AND started_at_ms < @Before ORDER BY started_at_ms LIMIT @Limit;
            """, new { Before = before.ToUnixTimeMilliseconds(), Limit = limit })).ToList();
    }

    /// <summary>Each of the campaign's devices with its retirement's state and failure reason (no state: not started, or not yet begun).</summary>
    public async Task<IReadOnlyList<DeviceProgress>> ProgressAsync(Guid campaignId)
    {
        await using var connection = await database.OpenAsync();
        var rows = (await connection.QueryAsync<ProgressRow>("""
            SELECT d.device_id AS DeviceId, d.started_at_ms AS StartedAtMs, r.current_state AS State, r.updated_at AS UpdatedAt,
                   CASE WHEN r.current_state IN ('Failed', 'Refused') THEN r.data ELSE NULL END AS Data
            FROM campaign_devices d LEFT JOIN retirements r ON r.correlation_id = d.retirement_id
            WHERE d.campaign_id = @Id ORDER BY d.position;
            """, new { Id = campaignId.ToString() })).ToList();

        // A device started while another retirement of it was open gets no retirement of its own (the saga drops a duplicate):
        // it follows that other retirement — the one open when the campaign started it, or opened since — so the campaign
        // settles when the device does instead of waiting for a retirement that will never exist.
        var orphans = rows.Where(r => r.StartedAtMs is not null && r.State is null).ToList();
        if (orphans.Count > 0)
        {
            // (Dapper gives PostgreSQL the list as one array parameter, and SQLite one parameter per element.)
            var anyOf = database.Dialect == SqlDialect.Postgres ? "= ANY(@Devices)" : "IN @Devices";
            var others = (await connection.QueryAsync<ProgressRow>($"""
                SELECT device_id AS DeviceId, current_state AS State, updated_at AS UpdatedAt,
                       CASE WHEN current_state IN ('Failed', 'Refused') THEN data ELSE NULL END AS Data
                FROM retirements WHERE device_id {anyOf};
                """, new { Devices = orphans.Select(o => o.DeviceId).Distinct().ToArray() })).ToLookup(o => o.DeviceId);
            foreach (var row in rows)
            {
                if (row.StartedAtMs is not { } started || row.State is not null)
                    continue;
                var covering = others[row.DeviceId]
                    .Where(o => !(RetirementStates.Closed.Contains(o.State!) && DateTimeOffset.Parse(o.UpdatedAt!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds() < started))
                    .MaxBy(o => DateTimeOffset.Parse(o.UpdatedAt!, CultureInfo.InvariantCulture));
                if (covering is not null)
                    (row.State, row.UpdatedAt, row.Data) = (covering.State, covering.UpdatedAt, covering.Data);
            }
        }
        return rows.Select(r => new DeviceProgress(r.DeviceId, r.StartedAtMs is not null, r.State, r.Data is null ? null : FailureReasonOf(r.Data),
            r.State is not null && RetirementStates.Settled.Contains(r.State) && r.UpdatedAt is not null
                ? DateTimeOffset.Parse(r.UpdatedAt, CultureInfo.InvariantCulture) : null)).ToList();
    }

    /// <summary>
    /// The campaign's tally counted by the database (devices by state, failures by reason; no timeline): what the driver
    /// reads every round and the list shows, without reading each device. A device started but without a retirement of its
    /// own is worked out device by device (<see cref="ProgressAsync"/>): rare, and brief but for a duplicate.
    /// </summary>
    public async Task<CampaignTally> TallyAsync(Guid campaignId)
    {
        await using var connection = await database.OpenAsync();
        const string state = $"CASE WHEN d.started_at_ms IS NULL THEN '{CampaignTally.NotStartedState}' ELSE COALESCE(r.current_state, '{CampaignTally.StartingState}') END";
        var byState = (await connection.QueryAsync<(string State, long Count)>($"""
            SELECT {state} AS State, COUNT(*) AS Count
            FROM campaign_devices d LEFT JOIN retirements r ON r.correlation_id = d.retirement_id
            WHERE d.campaign_id = @Id GROUP BY {state};
            """, new { Id = campaignId.ToString() })).ToDictionary(s => s.State, s => (int)s.Count, StringComparer.Ordinal);
        if (byState.ContainsKey(CampaignTally.StartingState))
            return CampaignTally.Of(await ProgressAsync(campaignId));
        var failures = await connection.QueryAsync<(string State, string Data)>("""
            SELECT r.current_state AS State, r.data AS Data
            FROM campaign_devices d JOIN retirements r ON r.correlation_id = d.retirement_id
            WHERE d.campaign_id = @Id AND r.current_state IN ('Failed', 'Refused');
            """, new { Id = campaignId.ToString() });
        var byReason = failures.GroupBy(f => FailureReasonOf(f.Data) ?? f.State).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return CampaignTally.FromCounts(byState, byReason);
    }

    private sealed class ProgressRow
    {
        public string DeviceId { get; set; } = "";
        public long? StartedAtMs { get; set; }
        public string? State { get; set; }
        public string? UpdatedAt { get; set; }
        public string? Data { get; set; }
    }

    public async Task<IReadOnlyList<CampaignEvent>> EventsAsync(Guid campaignId)
    {
        await using var connection = await database.OpenAsync();
        var rows = await connection.QueryAsync<(string Event, string Actor, string Detail, long AtMs)>(
            "SELECT event AS Event, actor AS Actor, detail AS Detail, at_ms AS AtMs FROM campaign_events WHERE campaign_id = @Id ORDER BY id;",
            new { Id = campaignId.ToString() });
        return rows.Select(r => new CampaignEvent { At = DateTimeOffset.FromUnixTimeMilliseconds(r.AtMs), Event = r.Event, Actor = r.Actor, Detail = r.Detail }).ToList();
    }

    private const string SelectCampaign = """
        SELECT campaign_id AS CampaignId, name AS Name, state AS State, settings AS Settings, requested_by AS RequestedBy,
               requested_by_key AS RequestedByKey, approved_by AS ApprovedBy, end_reason AS EndReason, next_start_ms AS NextStartMs,
               created_at AS CreatedAt, updated_at AS UpdatedAt
        FROM campaigns
        """;

    private async Task<CampaignRow?> LockAsync(DbConnection connection, DbTransaction transaction, Guid campaignId) =>
        await connection.QuerySingleOrDefaultAsync<CampaignRow>(
            $"{SelectCampaign} WHERE campaign_id = @Id{(database.Dialect == SqlDialect.Postgres ? " FOR UPDATE" : "")};",
            new { Id = campaignId.ToString() }, transaction);

    private static Task AppendAsync(DbConnection connection, DbTransaction transaction, Guid campaignId, string what, string actor, string detail, DateTimeOffset at) =>
        connection.ExecuteAsync("INSERT INTO campaign_events (campaign_id, event, actor, detail, at_ms) VALUES (@Id, @Event, @Actor, @Detail, @At);",
            new { Id = campaignId.ToString(), Event = what, Actor = actor, Detail = detail, At = at.ToUnixTimeMilliseconds() }, transaction);

    private static string? FailureReasonOf(string data)
    {
        using var document = JsonDocument.Parse(data);
        return document.RootElement.TryGetProperty("FailureReason", out var reason) && reason.ValueKind == JsonValueKind.String ? reason.GetString() : null;
    }
}

/// <summary>A stored campaign; <see cref="Settings"/> is its StartCampaign as JSON.</summary>
public sealed record CampaignRow(string CampaignId, string Name, string State, string Settings, string RequestedBy, string RequestedByKey,
    string? ApprovedBy, string? EndReason, long? NextStartMs, string CreatedAt, string UpdatedAt)
{
    public StartCampaign Order => JsonSerializer.Deserialize<StartCampaign>(Settings)!;

    public Guid Id => Guid.Parse(CampaignId);
}

public sealed record CampaignDevice(string CampaignId, long Position, string DeviceId, string RetirementId);

/// <summary>One device of a campaign: started or not, its retirement's state (null before the saga has it), failure reason and,
/// once settled, when.</summary>
public sealed record DeviceProgress(string DeviceId, bool Started, string? State, string? FailureReason, DateTimeOffset? SettledAt = null);
