using Dapper;
using Decommission.Orchestrator.Persistence;
using Decommission.Storage;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator.Deadlines;

/// <summary>
/// Time for the saga without a scheduler: finds retirements whose stored deadline is due and raises
/// RetirementDeadlineReached for each. The machine decides what a deadline means in its state. Every replica sweeps:
/// a due deadline is raised only by the sweep that claims it (a conditional UPDATE of its raised_* columns), so it fires
/// once across replicas, and again only if it is still due after ReraiseAfter (its event lost, or the saga was busy).
/// </summary>
public sealed class DeadlineSweeper(
    OrchestratorDatabase database,
    IBus bus,
    IOptions<OrchestratorOptions> options,
    TimeProvider clock,
    ILogger<DeadlineSweeper> logger) : BackgroundService
{
    private const int BatchSize = 500;

    // Due, and not raised for this deadline since the re-raise window began.
    private const string Claimable = """
        deadline_ms IS NOT NULL AND deadline_ms <= @Now
        AND (raised_deadline_ms IS NULL OR raised_deadline_ms <> deadline_ms OR raised_at_ms <= @ReraiseBefore)
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SweepInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Deadline sweep failed; trying again in {Interval}", interval);
            }
            await Task.Delay(interval, clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Claims and raises the deadline event of every due retirement not raised recently; returns how many were raised.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var window = new { Now = now.ToUnixTimeMilliseconds(), ReraiseBefore = (now - options.Value.ReraiseAfter).ToUnixTimeMilliseconds(), Limit = BatchSize };
        // A read first: an idle sweep takes no write lock (SQLite) and no row lock (PostgreSQL).
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            if (await connection.ExecuteScalarAsync<long?>($"SELECT 1 FROM retirements WHERE {Claimable} LIMIT 1;", window) is null)
                return 0;
        }

        // The outer condition is checked again on the row as it is when locked (PostgreSQL READ COMMITTED): a row another
        // replica claimed meanwhile is left out; rows another replica is claiming right now are skipped, not waited for.
        var skipLocked = database.Dialect == SqlDialect.Postgres ? "FOR UPDATE SKIP LOCKED" : "";
        var claimed = await database.Writes.WriteAsync(async (connection, transaction) => (await connection.QueryAsync<DueRow>($"""
            UPDATE retirements SET raised_deadline_ms = deadline_ms, raised_at_ms = @Now
            WHERE correlation_id IN (
                SELECT correlation_id FROM retirements WHERE {Claimable} ORDER BY deadline_ms LIMIT @Limit {skipLocked})
              AND {Claimable}
            RETURNING correlation_id AS Id, deadline_ms AS DeadlineMs;
            """, window, transaction)).ToList());

        var published = 0;
        try
        {
            foreach (var row in claimed)
            {
                await bus.Publish(new RetirementDeadlineReached
                {
                    RetirementId = Guid.Parse(row.Id),
                    Deadline = DateTimeOffset.FromUnixTimeMilliseconds(row.DeadlineMs),
                }, cancellationToken);
                published++;
            }
        }
        catch
        {
            await ReleaseAsync(claimed.Skip(published), window.Now);
            throw;
        }
        return claimed.Count;
    }

    // Claimed but not raised (the broker gone, a stop): given back, so the next sweep of any replica raises them instead of
    // waiting ReraiseAfter. Only this sweep's claims are given back. If this fails too, ReraiseAfter still brings them back.
    private async Task ReleaseAsync(IEnumerable<DueRow> unraised, long claimedAt)
    {
        var rows = unraised.Select(r => new { r.Id, r.DeadlineMs, ClaimedAt = claimedAt }).ToList();
        if (rows.Count == 0)
            return;
        try
        {
            await database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync("""
                UPDATE retirements SET raised_deadline_ms = NULL, raised_at_ms = NULL
                WHERE correlation_id = @Id AND raised_deadline_ms = @DeadlineMs AND raised_at_ms = @ClaimedAt;
                """, rows, transaction));
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Deadline sweep: {Count} claimed deadline(s) could not be given back; raised again after ReraiseAfter", rows.Count);
        }
    }

    private sealed record DueRow(string Id, long DeadlineMs);
}
