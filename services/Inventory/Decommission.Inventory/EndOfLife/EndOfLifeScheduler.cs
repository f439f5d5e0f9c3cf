using Decommission.ServiceDefaults;
using Decommission.Contracts;
using Decommission.Inventory.Devices;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Inventory.EndOfLife;

/// <summary>
/// Retires devices on their end-of-life date, exactly once each, as campaigns: a scan first claims due devices in one write
/// transaction for a new campaign id (so two schedulers on one database never take the same device), then sends them as
/// that campaign (StartCampaign, paced, with abort criteria, waiting for approval above the orchestrator's size), then marks
/// them sent. A claim left unsent by a crash is sent again as the same campaign, which the orchestrator keeps only once;
/// each device's retirement id follows from the campaign's id. <see cref="PreviewAsync"/> gives the advance notice, and a
/// legal hold set before a device's day keeps it out of the batch.
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

    /// <summary>
    /// Claims every device due today or earlier (one batch) and starts them as a campaign at the configured pace and abort
    /// criteria (above the orchestrator's approval size it waits for an operator's approval); returns the devices sent.
    /// </summary>
    public async Task<IReadOnlyList<string>> ScanOnceAsync(CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var claimed = await devices.ClaimDueAsync(_instance, today, settings.EndOfLifeBatchSize, now - settings.ResendUnsentAfter, now, NewId.NextGuid());
        if (claimed.Count == 0)
            return [];

        // Sent to StartCampaign's own exchange, which reaches the orchestrator's campaigns queue (bound by the broker's set-up):
        // the inventory's broker user may write that exchange, not the queue. No answer is asked for: the campaign's id is the
        // claim's, and the orchestrator keeps the first campaign stored under an id, so sending again changes nothing.
        var endpoint = await bus.GetSendEndpoint(TypeExchange.Of<StartCampaign>(bus));
        foreach (var campaign in claimed.GroupBy(c => c.CampaignId))
        {
            var (first, last) = (campaign.Min(c => c.EndOfLife), campaign.Max(c => c.EndOfLife));
            await endpoint.Send(new StartCampaign
            {
                CampaignId = campaign.Key,
                Name = $"end of life {today:yyyy-MM-dd}",
                DeviceIds = campaign.Select(c => c.DeviceId).Order(StringComparer.Ordinal).ToList(),
                Reason = first == last ? $"EndOfLife: end-of-life date {first:yyyy-MM-dd}" : $"EndOfLife: end-of-life dates {first:yyyy-MM-dd} to {last:yyyy-MM-dd}",
                Source = "end-of-life scheduler",
                PacePerMinute = settings.EndOfLifePacePerMinute,
                AbortCriteria = settings.EndOfLifeAbortPercent > 0
                    ? [new AbortCriterion { Percent = settings.EndOfLifeAbortPercent, MinFinished = settings.EndOfLifeAbortAfter }]
                    : [],
                RequestedBy = settings.SchedulerName,
                RequestedByKey = $"scheduler:{settings.SchedulerName}",
                RequestedAt = now,
            }, context =>
            {
                context.MessageId = campaign.Key;
                // Mandatory: if the exchange lost its binding to the campaigns queue, the send fails and the claims stay unsent.
                TypeExchange.Mandatory(context);
            }, cancellationToken);
            await devices.MarkSentAsync(campaign.Select(c => c.DeviceId), clock.GetUtcNow());
            logger.LogInformation("End-of-life scan started campaign {CampaignId} of {Count} device(s)", campaign.Key, campaign.Count());
        }
        return claimed.Select(d => d.DeviceId).ToList();
    }

    /// <summary>The devices the scheduler would retire within <paramref name="days"/> days, soonest first, without claiming them.</summary>
    public async Task<EndOfLifePreview> PreviewAsync(int days, int limit, CancellationToken cancellationToken)
    {
        var until = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime).AddDays(Math.Max(0, days));
        var (total, due) = await devices.DueAsync(until, limit, cancellationToken);
        return new EndOfLifePreview { Total = total, Devices = due };
    }
}
