using System.Security.Cryptography;
using System.Text;
using Dapper;
using Decommission.Contracts;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Inventory.EndOfLife;

/// <summary>
/// Retires devices on their end-of-life date, exactly once each: a scan first claims due devices in one write
/// transaction (so two schedulers on one database never take the same device), then sends RetireDevice with a message
/// id derived from the device and its date, then marks it sent. A claim left unsent by a crash is sent again with the
/// same message id, which the orchestrator maps to the same retirement.
/// </summary>
public sealed class EndOfLifeScheduler(InventoryDatabase database, IBus bus, IOptions<InventoryOptions> options, TimeProvider clock,
    ILogger<EndOfLifeScheduler> logger) : BackgroundService
{
    private readonly string _instance = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.EndOfLifeScanInterval;
        if (interval == TimeSpan.Zero)
            return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ScanOnceAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "End-of-life scan failed; trying again in {Interval}", interval);
            }
            await Task.Delay(interval, clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Claims and retires every device due today or earlier (one batch); returns the devices sent.</summary>
    public async Task<IReadOnlyList<string>> ScanOnceAsync(CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime).DayNumber;
        var claimed = await database.Writes.WriteAsync(async (connection, transaction) =>
        {
            var due = (await connection.QueryAsync<Claimed>("""
                UPDATE devices SET eol_claimed_at = @Now, eol_claimed_by = @Instance
                WHERE device_id IN (
                    SELECT device_id FROM devices
                    WHERE status = 'Active' AND legal_hold = 0 AND eol_claimed_at IS NULL AND end_of_life IS NOT NULL AND end_of_life <= @Today
                    ORDER BY end_of_life LIMIT @Batch)
                RETURNING device_id AS DeviceId, end_of_life AS EndOfLife;
                """, new { Now = now.ToString("O"), Instance = _instance, Today = today, Batch = settings.EndOfLifeBatchSize }, transaction)).ToList();
            var unsent = await connection.QueryAsync<Claimed>("""
                UPDATE devices SET eol_claimed_at = @Now, eol_claimed_by = @Instance
                WHERE eol_claimed_at IS NOT NULL AND eol_sent_at IS NULL AND eol_claimed_at < @StaleBefore
                RETURNING device_id AS DeviceId, end_of_life AS EndOfLife;
                """, new { Now = now.ToString("O"), Instance = _instance, StaleBefore = (now - settings.ResendUnsentAfter).ToString("O") }, transaction);
            due.AddRange(unsent);
            return due;
        });
        if (claimed.Count == 0)
            return [];

        // All sends in flight at once: the broker confirms them together instead of one round trip per device. Sent to
        // RetireDevice's own exchange, which reaches the saga's queue (bound by the broker's set-up, or by the saga's
        // endpoint): a send to queue: would declare and bind the saga's queue, and the inventory's broker user would need
        // the rights to read and delete it (contracts/Decommission.Topology, BrokerPermissions).
        if (!bus.Topology.TryGetPublishAddress<RetireDevice>(out var exchange))
            throw new InvalidOperationException("The bus has no address for RetireDevice's exchange");
        var endpoint = await bus.GetSendEndpoint(exchange);
        await Task.WhenAll(claimed.Select(device =>
        {
            var endOfLife = DateOnly.FromDayNumber((int)device.EndOfLife);
            return endpoint.Send(new RetireDevice
            {
                DeviceId = device.DeviceId,
                Reason = $"EndOfLife: end-of-life date {endOfLife:yyyy-MM-dd}",
                RequestedBy = settings.SchedulerName,
                RequestedAt = now,
            }, context =>
            {
                context.MessageId = RequestIdFor(device.DeviceId, endOfLife);
                // Mandatory: if the exchange lost its binding to the saga's queue (deleted and made again by a sender), the
                // send fails and the claim stays unsent, to be sent again, instead of vanishing while the broker confirms it.
                if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
                    rabbit.Mandatory = true;
            }, cancellationToken);
        }));

        var sentAt = clock.GetUtcNow().ToString("O");
        await database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync(
            "UPDATE devices SET eol_sent_at = @Now WHERE device_id = @DeviceId AND eol_sent_at IS NULL;",
            claimed.Select(d => new { Now = sentAt, d.DeviceId }), transaction));
        logger.LogInformation("End-of-life scan sent {Count} retirement request(s)", claimed.Count);
        return claimed.Select(d => d.DeviceId).ToList();
    }

    /// <summary>The devices the scheduler would retire within <paramref name="days"/> days, soonest first, without claiming them.</summary>
    public async Task<EndOfLifePreview> PreviewAsync(int days, int limit, CancellationToken cancellationToken)
    {
        var until = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(Math.Max(0, days)).DayNumber;
        await using var connection = await database.OpenAsync(cancellationToken);
        const string due = "status = 'Active' AND legal_hold = 0 AND eol_claimed_at IS NULL AND end_of_life IS NOT NULL AND end_of_life <= @Until";
        var total = await connection.ExecuteScalarAsync<int>($"SELECT COUNT(*) FROM devices WHERE {due};", new { Until = until });
        var rows = await connection.QueryAsync<(string DeviceId, long EndOfLife, string Site, string Model)>(
            $"SELECT device_id, end_of_life, site, model FROM devices WHERE {due} ORDER BY end_of_life LIMIT @Limit;", new { Until = until, Limit = limit });
        return new EndOfLifePreview
        {
            Total = total,
            Devices = rows.Select(r => new DueDevice { DeviceId = r.DeviceId, EndOfLife = DateOnly.FromDayNumber((int)r.EndOfLife), Site = r.Site, Model = r.Model }).ToList(),
        };
    }

    /// <summary>The same device and date always give the same request id, so a re-sent request starts no second retirement.</summary>
    public static Guid RequestIdFor(string deviceId, DateOnly endOfLife) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes($"end-of-life\n{deviceId}\n{endOfLife:yyyy-MM-dd}")).AsSpan(0, 16));

    private sealed record Claimed(string DeviceId, long EndOfLife);
}
