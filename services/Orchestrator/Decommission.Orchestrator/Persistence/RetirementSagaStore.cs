using Decommission.Outbox;
using System.Text.Json;
using Dapper;
using Decommission.Orchestrator.StateMachines;
using MassTransit;
using Decommission.Storage;

namespace Decommission.Orchestrator.Persistence;

/// <summary>
/// Reads and writes retirement rows. Writes are optimistic: an update only lands on the version it was loaded at,
/// otherwise <see cref="ConcurrencyException"/> tells MassTransit to retry the message on fresh state.
/// The audit entries a transition produced, and what it sent (the outbox), are written in the same transaction as the row.
/// </summary>
public sealed class RetirementSagaStore(OrchestratorDatabase database, TimeProvider clock)
{
    public async Task<Retirement?> LoadAsync(Guid correlationId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var data = await connection.QuerySingleOrDefaultAsync<string>(
            "SELECT data FROM retirements WHERE correlation_id = @Id;", new { Id = correlationId.ToString() });
        return data is null ? null : JsonSerializer.Deserialize<Retirement>(data);
    }

    /// <summary>Inserts a new retirement at version 1; false when a row with its id exists already.</summary>
    public async Task<bool> InsertAsync(Retirement retirement, CancellationToken cancellationToken = default)
    {
        retirement.Version = 1;
        try
        {
            await WriteAsync(retirement, """
                INSERT INTO retirements (correlation_id, current_state, version, device_id, deadline_ms, updated_at, data)
                VALUES (@Id, @State, @Version, @DeviceId, @DeadlineMs, @UpdatedAt, @Data);
                """, cancellationToken);
            return true;
        }
        catch (Exception e) when (ServiceDatabase.IsUniqueViolation(e))
        {
            retirement.Version = 0;
            if (await LoadAsync(retirement.CorrelationId, cancellationToken) is not null)
                return false;
            // The one-open-retirement-per-device index refused it: another request for the device won the race.
            throw new ConcurrencyException($"Device {retirement.DeviceId} already has an open retirement", typeof(Retirement), retirement.CorrelationId, e);
        }
    }

    public async Task UpdateAsync(Retirement retirement, CancellationToken cancellationToken = default)
    {
        var loadedAt = retirement.Version;
        retirement.Version = loadedAt + 1;
        var rows = await WriteAsync(retirement, """
            UPDATE retirements
            SET current_state = @State, version = @Version, deadline_ms = @DeadlineMs, updated_at = @UpdatedAt, data = @Data
            WHERE correlation_id = @Id AND version = @LoadedAt;
            """, cancellationToken, loadedAt);
        if (rows == 0)
        {
            retirement.Version = loadedAt;
            throw new ConcurrencyException($"Retirement {retirement.CorrelationId} changed since version {loadedAt} was loaded",
                typeof(Retirement), retirement.CorrelationId);
        }
    }

    public async Task DeleteAsync(Retirement retirement, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.ExecuteAsync("DELETE FROM retirements WHERE correlation_id = @Id AND version = @Version;",
            new { Id = retirement.CorrelationId.ToString(), retirement.Version });
        if (rows == 0)
            throw new ConcurrencyException($"Retirement {retirement.CorrelationId} changed before it could be deleted", typeof(Retirement), retirement.CorrelationId);
    }

    // The saga's writes share transactions (group commit): a fleet's retirements move through their steps at once.
    private async Task<int> WriteAsync(Retirement retirement, string sql, CancellationToken cancellationToken, int loadedAt = 0)
    {
        cancellationToken.ThrowIfCancellationRequested();
        retirement.UpdatedAt = clock.GetUtcNow();
        var row = new
        {
            Id = retirement.CorrelationId.ToString(),
            State = retirement.CurrentState,
            retirement.Version,
            retirement.DeviceId,
            DeadlineMs = retirement.Deadline?.ToUnixTimeMilliseconds(),
            UpdatedAt = retirement.UpdatedAt.UtcDateTime.ToString("O"),
            Data = JsonSerializer.Serialize(retirement),
            LoadedAt = loadedAt,
        };
        var audit = retirement.PendingAudit.Select(e => new
        {
            RetirementId = row.Id,
            retirement.DeviceId,
            e.FromState,
            e.ToState,
            e.Event,
            e.Actor,
            e.Detail,
            At = e.At.UtcDateTime.ToString("O"),
        }).ToList();

        // What the transition sent goes in the same transaction as the row: a commit is never without its messages.
        var rows = await database.Writes.WriteAsync(database, async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(sql, row, transaction);
            if (changed > 0 && audit.Count > 0)
            {
                await connection.ExecuteAsync("""
                    INSERT INTO audit_trail (retirement_id, device_id, from_state, to_state, event, actor, detail, at)
                    VALUES (@RetirementId, @DeviceId, @FromState, @ToState, @Event, @Actor, @Detail, @At);
                    """, audit, transaction);
            }
            return changed;
        }, changed: changed => changed > 0);
        if (rows > 0)
            retirement.PendingAudit.Clear();
        return rows;
    }
}
