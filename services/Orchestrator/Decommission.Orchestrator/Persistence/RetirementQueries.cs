using Dapper;
using Decommission.Contracts;

namespace Decommission.Orchestrator.Persistence;

/// <summary>Reads of stored retirements that do not go through the saga (status, duplicates, audit trail).</summary>
public static class RetirementQueries
{
    /// <summary>The predicate of the one-open-retirement-per-device index (0001_retirements.sql, both engines), word for word,
    /// so the query uses the index; built from the contract's constants, not from input.</summary>
    public static readonly string IsOpen = $"current_state NOT IN ({string.Join(", ", RetirementStates.Closed.Select(s => $"'{s}'"))})";

    /// <summary>The device's retirement that is not yet Completed, Refused or Cancelled, if any.</summary>
    public static async Task<OpenRetirement?> OpenRetirementOfDevice(OrchestratorDatabase database, string deviceId)
    {
        await using var connection = await database.OpenAsync();
        var row = await connection.QuerySingleOrDefaultAsync<(string Id, string State)?>(
            $"""
            SELECT correlation_id AS Id, current_state AS State FROM retirements
            WHERE device_id = @DeviceId AND {IsOpen};
            """, new { DeviceId = deviceId });
        return row is { } r ? new OpenRetirement(Guid.Parse(r.Id), r.State) : null;
    }

    /// <summary>The device's most recent retirement, open or not.</summary>
    public static async Task<Guid?> LatestRetirementOfDevice(OrchestratorDatabase database, string deviceId)
    {
        await using var connection = await database.OpenAsync();
        var id = await connection.QuerySingleOrDefaultAsync<string>(
            "SELECT correlation_id FROM retirements WHERE device_id = @DeviceId ORDER BY updated_at DESC LIMIT 1;",
            new { DeviceId = deviceId });
        return id is null ? null : Guid.Parse(id);
    }

    /// <summary>Retirements, most recently changed first, optionally in one state.</summary>
    public static async Task<IReadOnlyList<RetirementSummary>> ListAsync(OrchestratorDatabase database, string? state, int limit)
    {
        await using var connection = await database.OpenAsync();
        var rows = await connection.QueryAsync<string>("""
            SELECT data FROM retirements WHERE (@State IS NULL OR current_state = @State) ORDER BY updated_at DESC LIMIT @Limit;
            """, new { State = state, Limit = limit });
        return rows.Select(data => System.Text.Json.JsonSerializer.Deserialize<StateMachines.Retirement>(data)!).Select(r => new RetirementSummary
        {
            RetirementId = r.CorrelationId,
            DeviceId = r.DeviceId,
            State = r.CurrentState,
            EraseAttempts = r.EraseAttempts,
            FailureReason = r.FailureReason,
            UpdatedAt = r.UpdatedAt,
        }).ToList();
    }

    /// <summary>How many retirements are in each state (read from the state index, not the saga documents).</summary>
    public static async Task<IReadOnlyDictionary<string, int>> CountByStateAsync(OrchestratorDatabase database)
    {
        await using var connection = await database.OpenAsync();
        // COUNT is a BIGINT on PostgreSQL.
        var rows = await connection.QueryAsync<(string State, long Count)>(
            "SELECT current_state AS State, COUNT(*) AS Count FROM retirements GROUP BY current_state;");
        return rows.ToDictionary(r => r.State, r => (int)r.Count, StringComparer.Ordinal);
    }

    public static async Task<IReadOnlyList<AuditEntry>> AuditTrailOf(OrchestratorDatabase database, Guid retirementId)
    {
        await using var connection = await database.OpenAsync();
        var rows = await connection.QueryAsync<AuditRow>(
            """
            SELECT from_state AS FromState, to_state AS ToState, event AS Event, actor AS Actor, detail AS Detail, at AS At
            FROM audit_trail WHERE retirement_id = @Id ORDER BY id;
            """, new { Id = retirementId.ToString() });
        return rows.Select(r => new AuditEntry
        {
            At = DateTimeOffset.Parse(r.At, System.Globalization.CultureInfo.InvariantCulture),
            FromState = r.FromState,
            ToState = r.ToState,
            Event = r.Event,
            Actor = r.Actor,
            Detail = r.Detail,
        }).ToList();
    }

    private sealed record AuditRow(string FromState, string ToState, string Event, string Actor, string Detail, string At);
}

/// <summary>A retirement that still holds its device.</summary>
public sealed record OpenRetirement(Guid Id, string State);
