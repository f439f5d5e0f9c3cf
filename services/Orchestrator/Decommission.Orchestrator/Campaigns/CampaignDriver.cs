using Decommission.ServiceDefaults;
using Decommission.Contracts;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator.Campaigns;

/// <summary>
/// Runs the running campaigns: ends one whose abort criteria are met (no device starts after that; those in flight finish)
/// or whose devices have all finished, and starts the next device of each when its pace allows — one at a time, each start
/// at least the pace's interval after the last, claimed under the campaign's lock, so replicas share one pace. A started
/// device gets its RetireDevice (message id = its retirement id) through RetireDevice's exchange; one not confirmed sent
/// is sent again after <see cref="OrchestratorOptions.CampaignResendAfter"/>, to the same retirement.
/// </summary>
public sealed class CampaignDriver(CampaignStore store, IBus bus, IOptions<OrchestratorOptions> options, TimeProvider clock,
    RetirementMetrics metrics, ILogger<CampaignDriver> logger) : BackgroundService
{
    // RetireDevice's RequestedBy holds at most this (RetireDeviceValidation).
    private const int MaxRequesterLength = 200;

    // Each campaign's tally (a read of every one of its devices) is taken at most once per CampaignInterval, however fast its
    // pace: a campaign of 100 000 devices at 6 000 a minute would otherwise read them all a hundred times a second. Its abort
    // criteria and its end are seen at most that late; starts are still claimed one by one under the campaign's lock.
    private readonly Dictionary<Guid, (CampaignTally Tally, DateTimeOffset At)> _tallies = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = options.Value.CampaignInterval;
            try
            {
                wake = await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Campaign round failed; trying again in {Interval}", wake);
            }
            await Task.Delay(wake, clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>One round over the running campaigns; how long until the next round is due.</summary>
    public async Task<TimeSpan> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        var wake = options.Value.CampaignInterval;
        var running = await store.RunningAsync();
        metrics.CampaignsRunning(running.Count);
        foreach (var gone in _tallies.Keys.Except(running.Select(c => c.Id)).ToList())
            _tallies.Remove(gone);
        foreach (var campaign in running)
        {
            var order = campaign.Order;
            var now = clock.GetUtcNow();
            if (!_tallies.TryGetValue(campaign.Id, out var taken) || now - taken.At >= options.Value.CampaignInterval)
                _tallies[campaign.Id] = taken = (await store.TallyAsync(campaign.Id), now);
            var tally = taken.Tally;
            if (tally.AbortReason(order.AbortCriteria) is { } reason)
            {
                if (await store.EndAsync(campaign.Id, CampaignStates.Aborted, reason, now))
                {
                    metrics.CampaignEnded(CampaignStates.Aborted);
                    logger.LogWarning("Campaign {Campaign} aborted: {Reason}", campaign.Name, reason);
                }
                continue;
            }
            if (tally.AllFinished)
            {
                if (await store.EndAsync(campaign.Id, CampaignStates.Completed,
                        $"every device finished: {tally.Succeeded} retired, {tally.Failed} failed, {tally.Cancelled} cancelled", now))
                {
                    metrics.CampaignEnded(CampaignStates.Completed);
                    logger.LogInformation("Campaign {Campaign} completed", campaign.Name);
                }
                continue;
            }
            if (tally.NotStarted == 0)
                continue;

            var interval = CampaignTally.IntervalAt(CampaignTally.PaceOf(order, tally.Succeeded));
            if (await store.StartNextAsync(campaign.Id, now, interval) is { } device)
            {
                metrics.CampaignDeviceStarted();
                await SendAsync(campaign, device, cancellationToken);
                await store.MarkSentAsync(device, clock.GetUtcNow());
                if (interval < wake)
                    wake = interval;
            }
            else if (campaign.NextStartMs is { } next)
            {
                var until = DateTimeOffset.FromUnixTimeMilliseconds(next) - now;
                if (until > TimeSpan.Zero && until < wake)
                    wake = until;
            }
        }

        foreach (var device in await store.UnsentAsync(clock.GetUtcNow() - options.Value.CampaignResendAfter, 100))
        {
            if (await store.FindAsync(Guid.Parse(device.CampaignId)) is not { } campaign)
                continue;
            await SendAsync(campaign, device, cancellationToken);
            await store.MarkSentAsync(device, clock.GetUtcNow());
        }
        return wake < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : wake;
    }

    // Through RetireDevice's own exchange, bound to the saga's queue by the broker's set-up (a send to queue: would declare and
    // bind the queue, which the orchestrator's broker user may not); mandatory, so a lost binding fails the send, which is retried.
    // Who asked, and who approved, are the retirement's requester: its audit trail, and so its certificate, carry them.
    private async Task SendAsync(CampaignRow campaign, CampaignDevice device, CancellationToken cancellationToken)
    {
        var order = campaign.Order;
        var requestedBy = $"campaign {order.Name} ({order.RequestedBy}{(campaign.ApprovedBy is null ? "" : $", approved by {campaign.ApprovedBy}")})";
        var endpoint = await bus.GetSendEndpoint(TypeExchange.Of<RetireDevice>(bus));
        await endpoint.Send(new RetireDevice
        {
            DeviceId = device.DeviceId,
            Reason = $"campaign {order.Name}: {order.Reason}",
            RequestedBy = requestedBy.Length <= MaxRequesterLength ? requestedBy : requestedBy[..(MaxRequesterLength - 1)] + "…",
            RequestedAt = clock.GetUtcNow(),
        }, context =>
        {
            context.MessageId = Guid.Parse(device.RetirementId);
            TypeExchange.Mandatory(context);
        }, cancellationToken);
    }
}
