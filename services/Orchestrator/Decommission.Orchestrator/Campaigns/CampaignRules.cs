using System.Globalization;
using Decommission.Contracts;

namespace Decommission.Orchestrator.Campaigns;

/// <summary>What a campaign's devices add up to, and what that means: its pace now, whether an abort criterion is met, whether it is done.</summary>
public sealed record CampaignTally(int Devices, int NotStarted, int InFlight, int Succeeded, int Failed, int Cancelled,
    IReadOnlyDictionary<string, int> ByState, IReadOnlyDictionary<string, int> FailuresByReason, IReadOnlyList<CampaignPoint> Timeline)
{
    /// <summary>How many points the timeline has at most (evenly spaced from the campaign's start to its last settled device).</summary>
    public const int TimelinePoints = 60;

    public const string NotStartedState = "NotStarted";
    /// <summary>A started device whose retirement the saga does not have yet.</summary>
    public const string StartingState = "Starting";

    public int Finished => Succeeded + Failed + Cancelled;

    public static CampaignTally Of(IReadOnlyList<DeviceProgress> devices, DateTimeOffset? since = null)
    {
        var byState = devices.GroupBy(d => !d.Started ? NotStartedState : d.State ?? StartingState).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        // A refusal (legal hold, unknown device) is a failure of the campaign's device, under its reason.
        var failed = devices.Where(d => d.State is RetirementStates.Failed or RetirementStates.Refused).ToList();
        return new CampaignTally(
            devices.Count,
            byState.GetValueOrDefault(NotStartedState),
            devices.Count(d => d.Started && !RetirementStates.Settled.Contains(d.State ?? "")),
            byState.GetValueOrDefault(RetirementStates.Completed),
            failed.Count,
            byState.GetValueOrDefault(RetirementStates.Cancelled),
            byState,
            failed.GroupBy(d => d.FailureReason ?? d.State!).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            TimelineOf(devices, since));
    }

    /// <summary>The same tally from counts by state and failures by reason (no timeline): what the driver and the list need.</summary>
    public static CampaignTally FromCounts(IReadOnlyDictionary<string, int> byState, IReadOnlyDictionary<string, int> failuresByReason) => new(
        byState.Values.Sum(),
        byState.GetValueOrDefault(NotStartedState),
        byState.Where(s => s.Key != NotStartedState && !RetirementStates.Settled.Contains(s.Key)).Sum(s => s.Value),
        byState.GetValueOrDefault(RetirementStates.Completed),
        byState.GetValueOrDefault(RetirementStates.Failed) + byState.GetValueOrDefault(RetirementStates.Refused),
        byState.GetValueOrDefault(RetirementStates.Cancelled),
        byState,
        failuresByReason,
        []);

    // Retired and failed so far, at evenly spaced times from the start to the last device that settled: what a chart draws.
    private static IReadOnlyList<CampaignPoint> TimelineOf(IReadOnlyList<DeviceProgress> devices, DateTimeOffset? since)
    {
        var settled = devices.Where(d => d.SettledAt is not null && d.State is RetirementStates.Completed or RetirementStates.Failed or RetirementStates.Refused)
            .Select(d => (At: d.SettledAt!.Value, Failed: d.State != RetirementStates.Completed)).OrderBy(d => d.At).ToList();
        if (settled.Count == 0)
            return [];
        var start = since ?? settled[0].At;
        var end = settled[^1].At;
        var step = (end - start) / Math.Max(1, TimelinePoints - 1);
        var points = new List<CampaignPoint>();
        for (var i = 0; i < TimelinePoints; i++)
        {
            var at = start + step * i;
            if (i == TimelinePoints - 1 || step <= TimeSpan.Zero)
                at = end;
            points.Add(new CampaignPoint { At = at, Retired = settled.Count(d => d.At <= at && !d.Failed), Failed = settled.Count(d => d.At <= at && d.Failed) });
            if (step <= TimeSpan.Zero)
                break;
        }
        return points;
    }

    /// <summary>The first abort criterion the tally meets, said as the reason the campaign ends; null when none is met.</summary>
    public string? AbortReason(IReadOnlyList<AbortCriterion> criteria)
    {
        foreach (var criterion in criteria)
        {
            if (Finished == 0 || Finished < Math.Max(1, criterion.MinFinished))
                continue;
            var failing = criterion.FailureReason is null ? Failed : FailuresByReason.GetValueOrDefault(criterion.FailureReason);
            var percent = 100.0 * failing / Finished;
            if (percent >= criterion.Percent)
                return string.Create(CultureInfo.InvariantCulture,
                    $"abort criterion met: {failing} of {Finished} finished devices failed{(criterion.FailureReason is null ? "" : $" with {criterion.FailureReason}")} ({percent:0.#} % ≥ {criterion.Percent:0.#} % over at least {criterion.MinFinished})");
        }
        return null;
    }

    public bool AllFinished => NotStarted == 0 && InFlight == 0;

    /// <summary>Devices per minute now: the campaign's pace, or the ramp's while it climbs (its start times the factor per step of successes).</summary>
    public static double PaceOf(StartCampaign order, int succeeded)
    {
        if (order.Ramp is not { } ramp)
            return order.PacePerMinute;
        var steps = succeeded / Math.Max(1, ramp.EverySucceeded);
        var pace = ramp.StartPerMinute * Math.Pow(ramp.Factor, Math.Min(steps, 64));
        return Math.Min(order.PacePerMinute, pace);
    }

    /// <summary>The time between two starts at <paramref name="perMinute"/>: no window of a minute ever holds more starts than the pace.</summary>
    public static TimeSpan IntervalAt(double perMinute) => TimeSpan.FromMilliseconds(Math.Ceiling(60_000 / perMinute));
}
