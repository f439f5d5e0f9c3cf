using Dapper;
using Decommission.Orchestrator.Persistence;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator.Deadlines;

/// <summary>
/// Time for the saga without a scheduler: finds retirements whose stored deadline is due and raises
/// RetirementDeadlineReached for each. The machine decides what a deadline means in its state.
/// </summary>
public sealed class DeadlineSweeper(
    OrchestratorDatabase database,
    IBus bus,
    IOptions<OrchestratorOptions> options,
    TimeProvider clock,
    ILogger<DeadlineSweeper> logger) : BackgroundService
{
    private const int BatchSize = 500;

    // What was raised and when, so one due row is not raised every sweep while its event is on the way.
    private readonly Dictionary<Guid, (long DeadlineMs, DateTimeOffset RaisedAt)> _raised = [];

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

    /// <summary>Raises the deadline event of every due retirement not raised recently; returns how many were raised.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        IReadOnlyList<DueRow> due;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            due = (await connection.QueryAsync<DueRow>(
                """
                SELECT correlation_id AS Id, deadline_ms AS DeadlineMs FROM retirements
                WHERE deadline_ms IS NOT NULL AND deadline_ms <= @Now ORDER BY deadline_ms LIMIT @Limit;
                """, new { Now = now.ToUnixTimeMilliseconds(), Limit = BatchSize })).ToList();
        }

        var raised = 0;
        var reraiseAfter = options.Value.ReraiseAfter;
        foreach (var row in due)
        {
            var id = Guid.Parse(row.Id);
            if (_raised.TryGetValue(id, out var last) && last.DeadlineMs == row.DeadlineMs && now - last.RaisedAt < reraiseAfter)
                continue;

            await bus.Publish(new RetirementDeadlineReached
            {
                RetirementId = id,
                Deadline = DateTimeOffset.FromUnixTimeMilliseconds(row.DeadlineMs),
            }, cancellationToken);
            _raised[id] = (row.DeadlineMs, now);
            raised++;
        }

        // Forget what is no longer due, so the map stays as small as the backlog.
        var dueIds = due.Select(r => Guid.Parse(r.Id)).ToHashSet();
        foreach (var id in _raised.Keys.Where(k => !dueIds.Contains(k)).ToList())
            _raised.Remove(id);
        return raised;
    }

    private sealed record DueRow(string Id, long DeadlineMs);
}
