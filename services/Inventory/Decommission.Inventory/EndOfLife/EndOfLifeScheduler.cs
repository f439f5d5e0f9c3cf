using System.Security.Cryptography;
using System.Text;
using Decommission.Contracts;
using Decommission.Inventory.Devices;
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
public sealed class EndOfLifeScheduler(DeviceStore devices, IBus bus, IOptions<InventoryOptions> options, TimeProvider clock,
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
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var claimed = await devices.ClaimDueAsync(_instance, today, settings.EndOfLifeBatchSize, now - settings.ResendUnsentAfter, now);
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
            var endOfLife = device.EndOfLife;
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

        await devices.MarkSentAsync(claimed.Select(d => d.DeviceId), clock.GetUtcNow());
        logger.LogInformation("End-of-life scan sent {Count} retirement request(s)", claimed.Count);
        return claimed.Select(d => d.DeviceId).ToList();
    }

    /// <summary>The devices the scheduler would retire within <paramref name="days"/> days, soonest first, without claiming them.</summary>
    public async Task<EndOfLifePreview> PreviewAsync(int days, int limit, CancellationToken cancellationToken)
    {
        var until = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(Math.Max(0, days));
        var (total, due) = await devices.DueAsync(until, limit, cancellationToken);
        return new EndOfLifePreview { Total = total, Devices = due };
    }

    /// <summary>The same device and date always give the same request id, so a re-sent request starts no second retirement.</summary>
    public static Guid RequestIdFor(string deviceId, DateOnly endOfLife) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes($"end-of-life\n{deviceId}\n{endOfLife:yyyy-MM-dd}")).AsSpan(0, 16));
}
