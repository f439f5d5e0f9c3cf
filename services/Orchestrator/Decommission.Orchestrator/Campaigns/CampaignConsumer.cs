using System.Globalization;
using Decommission.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator.Campaigns;

/// <summary>
/// Campaign orders and queries. They come only from the certificates service (the broker's permissions and the sender
/// check), which relays them for the people its API authenticated: the names and key ids in them are that service's word.
/// </summary>
public sealed class CampaignConsumer(CampaignStore store, IOptions<OrchestratorOptions> options, TimeProvider clock, RetirementMetrics metrics) :
    IConsumer<StartCampaign>, IConsumer<ChangeCampaign>, IConsumer<GetCampaign>, IConsumer<ListCampaigns>
{
    public const int MaxTextLength = 200;

    public async Task Consume(ConsumeContext<StartCampaign> context)
    {
        var order = context.Message;
        if (Problems(order) is { Count: > 0 } problems)
        {
            // The end-of-life scheduler asks for no answer: its refused batch goes to the _error queue with the reason.
            if (context.ResponseAddress is null)
                throw new InvalidOperationException($"campaign {order.CampaignId} refused: {string.Join("; ", problems)}");
            await context.RespondAsync(new CampaignCommandRefused { CampaignId = order.CampaignId, Reason = string.Join("; ", problems) });
            return;
        }
        var state = order.DeviceIds.Count > options.Value.CampaignApprovalAbove ? CampaignStates.AwaitingApproval : CampaignStates.Running;
        if (await store.CreateAsync(order, state, clock.GetUtcNow()))
            metrics.CampaignCreated(order.Source ?? "", state == CampaignStates.AwaitingApproval);
        if (context.ResponseAddress is not null)
            await context.RespondAsync(await ViewAsync(store, order.CampaignId));
    }

    public async Task Consume(ConsumeContext<ChangeCampaign> context)
    {
        var order = context.Message;
        if (!CampaignActions.All.Contains(order.Action) || string.IsNullOrWhiteSpace(order.RequestedBy) || string.IsNullOrWhiteSpace(order.RequestedByKey)
            || order.Note is { Length: > MaxTextLength })
        {
            await context.RespondAsync(new CampaignCommandRefused { CampaignId = order.CampaignId, Reason = $"an action ({string.Join(", ", CampaignActions.All)}) by someone, with a note of at most {MaxTextLength} characters" });
            return;
        }
        var before = (await store.FindAsync(order.CampaignId))?.State;
        if (await store.ChangeAsync(order, clock.GetUtcNow()) is { } refusal)
        {
            await context.RespondAsync(new CampaignCommandRefused { CampaignId = order.CampaignId, Reason = refusal });
            return;
        }
        var view = await ViewAsync(store, order.CampaignId);
        if (view.State != before && CampaignStates.Ended.Contains(view.State))
            metrics.CampaignEnded(view.State);
        await context.RespondAsync(view);
    }

    public async Task Consume(ConsumeContext<GetCampaign> context)
    {
        if (await store.FindAsync(context.Message.CampaignId) is null)
            await context.RespondAsync(new CampaignNotFound { CampaignId = context.Message.CampaignId });
        else
            await context.RespondAsync(await ViewAsync(store, context.Message.CampaignId));
    }

    public async Task Consume(ConsumeContext<ListCampaigns> context)
    {
        var campaigns = await store.ListAsync(Math.Clamp(context.Message.Limit, 1, 200));
        var views = new List<CampaignView>();
        foreach (var campaign in campaigns)
            views.Add(await ViewAsync(store, campaign, events: false));
        await context.RespondAsync(new CampaignList { Campaigns = views });
    }

    /// <summary>The campaign as it stands now, with its devices' progress and (unless asked not to) its events.</summary>
    public static async Task<CampaignView> ViewAsync(CampaignStore store, Guid campaignId, bool events = true) =>
        await ViewAsync(store, await store.FindAsync(campaignId) ?? throw new InvalidOperationException($"campaign {campaignId} is not stored"), events);

    private static async Task<CampaignView> ViewAsync(CampaignStore store, CampaignRow campaign, bool events)
    {
        var campaignId = campaign.Id;
        var order = campaign.Order;
        var created = DateTimeOffset.Parse(campaign.CreatedAt, CultureInfo.InvariantCulture);
        // One campaign: every device, for its timeline; the list: counts the database adds up.
        var tally = events ? CampaignTally.Of(await store.ProgressAsync(campaignId), created) : await store.TallyAsync(campaignId);
        return new CampaignView
        {
            CampaignId = campaignId,
            Name = campaign.Name,
            State = campaign.State,
            Reason = order.Reason,
            Source = order.Source,
            PacePerMinute = order.PacePerMinute,
            CurrentPacePerMinute = CampaignTally.PaceOf(order, tally.Succeeded),
            Ramp = order.Ramp,
            AbortCriteria = order.AbortCriteria,
            RequestedBy = campaign.RequestedBy,
            ApprovedBy = campaign.ApprovedBy,
            EndReason = campaign.EndReason,
            CreatedAt = created,
            UpdatedAt = DateTimeOffset.Parse(campaign.UpdatedAt, CultureInfo.InvariantCulture),
            Devices = tally.Devices,
            NotStarted = tally.NotStarted,
            InFlight = tally.InFlight,
            Succeeded = tally.Succeeded,
            Failed = tally.Failed,
            ByState = tally.ByState,
            FailuresByReason = tally.FailuresByReason,
            Timeline = events ? tally.Timeline : [],
            Events = events ? await store.EventsAsync(campaignId) : [],
        };
    }

    private List<string> Problems(StartCampaign order)
    {
        var problems = new List<string>();
        if (order.CampaignId == Guid.Empty) problems.Add("a campaign id");
        foreach (var (name, value) in new[] { ("name", order.Name), ("reason", order.Reason), ("requestedBy", order.RequestedBy), ("requestedByKey", order.RequestedByKey) })
            if (string.IsNullOrWhiteSpace(value) || value.Length > MaxTextLength || value.Any(char.IsControl))
                problems.Add($"{name}: 1 to {MaxTextLength} characters, no control characters");
        if (order.Source is { } source && (source.Length > MaxTextLength || source.Any(char.IsControl))) problems.Add($"source: at most {MaxTextLength} characters, no control characters");
        var max = options.Value.CampaignMaxDevices;
        if (order.DeviceIds.Count == 0 || order.DeviceIds.Count > max) problems.Add($"1 to {max} devices");
        if (order.DeviceIds.FirstOrDefault(id => !DeviceIdRule.IsValid(id)) is { } bad)
            problems.Add($"device id '{(bad.Length > 64 || bad.Any(char.IsControl) ? "(not shown)" : bad)}': {DeviceIdRule.Description}");
        if (order.DeviceIds.GroupBy(id => id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice) problems.Add($"device {twice.Key} is listed twice");
        if (!(order.PacePerMinute is > 0 and <= 60_000)) problems.Add("a pace of more than 0 and at most 60000 devices per minute");
        if (order.Ramp is { } ramp && !(ramp.StartPerMinute > 0 && ramp.StartPerMinute <= order.PacePerMinute && ramp.Factor is > 1 and <= 10 && ramp.EverySucceeded >= 1))
            problems.Add("a ramp that starts above 0 and at most at the pace, with a factor above 1 and at most 10, every 1 or more successes");
        foreach (var criterion in order.AbortCriteria)
        {
            if (!(criterion.Percent is > 0 and <= 100) || criterion.MinFinished < 1)
                problems.Add("abort criteria with a percentage above 0 and at most 100, over at least 1 finished device");
            if (criterion.FailureReason is { } reason && (reason.Length > MaxTextLength || reason.Any(char.IsControl)))
                problems.Add("an abort criterion's failure reason of at most 200 characters");
        }
        return problems.Distinct().ToList();
    }
}
