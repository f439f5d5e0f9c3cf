namespace Decommission.Contracts;

/// <summary>
/// Starts a campaign: a bulk retirement paced at <see cref="PacePerMinute"/> (optionally ramping up as retirements succeed)
/// and stopped by its abort criteria. Sent by the certificates service on behalf of an operator its API authenticated
/// (<see cref="RequestedBy"/> is that key's name, <see cref="RequestedByKey"/> its id): the orchestrator takes campaign
/// orders from no one else. Above the orchestrator's approval size it waits for a second person.
/// </summary>
public record StartCampaign
{
    public Guid CampaignId { get; init; }
    public string Name { get; init; } = "";
    public IReadOnlyList<string> DeviceIds { get; init; } = [];
    public string Reason { get; init; } = "";
    public double PacePerMinute { get; init; }
    public CampaignRamp? Ramp { get; init; }
    public IReadOnlyList<AbortCriterion> AbortCriteria { get; init; } = [];
    /// <summary>Where the devices came from: a list, a selection of the inventory, or the end-of-life scheduler's batch of a day.</summary>
    public string Source { get; init; } = "";
    public string RequestedBy { get; init; } = "";
    public string RequestedByKey { get; init; } = "";
    public DateTimeOffset RequestedAt { get; init; }
}

/// <summary>Exponential ramp-up: the pace starts at <see cref="StartPerMinute"/> and is multiplied by <see cref="Factor"/>
/// after every <see cref="EverySucceeded"/> successful retirements, up to the campaign's pace.</summary>
public record CampaignRamp
{
    public double StartPerMinute { get; init; }
    public double Factor { get; init; } = 2;
    public int EverySucceeded { get; init; } = 10;
}

/// <summary>Abort when failures (of <see cref="FailureReason"/>, or any when null) reach <see cref="Percent"/> of the finished
/// devices, once at least <see cref="MinFinished"/> have finished.</summary>
public record AbortCriterion
{
    public string? FailureReason { get; init; }
    public double Percent { get; init; }
    public int MinFinished { get; init; }
}

/// <summary>Pause, resume, abort, approve or refuse a campaign (<see cref="CampaignActions"/>), for an authenticated person.</summary>
public record ChangeCampaign
{
    public Guid CampaignId { get; init; }
    public string Action { get; init; } = "";
    public string RequestedBy { get; init; } = "";
    public string RequestedByKey { get; init; } = "";
    public string? Note { get; init; }
}

public static class CampaignActions
{
    public const string Pause = "pause";
    public const string Resume = "resume";
    public const string Abort = "abort";
    public const string Approve = "approve";
    public const string Refuse = "refuse";

    public static readonly IReadOnlyList<string> All = [Pause, Resume, Abort, Approve, Refuse];
}

public static class CampaignStates
{
    public const string AwaitingApproval = nameof(AwaitingApproval);
    public const string Running = nameof(Running);
    public const string Paused = nameof(Paused);
    public const string Completed = nameof(Completed);
    public const string Aborted = nameof(Aborted);
    public const string Refused = nameof(Refused);

    /// <summary>The states in which no device is started any more.</summary>
    public static readonly IReadOnlyList<string> Ended = [Completed, Aborted, Refused];
}

public record GetCampaign
{
    public Guid CampaignId { get; init; }
}

public record ListCampaigns
{
    public int Limit { get; init; } = 50;
}

/// <summary>A campaign as it stands: its settings, who asked and who approved, and its devices' progress.</summary>
public record CampaignView
{
    public Guid CampaignId { get; init; }
    public string Name { get; init; } = "";
    public string State { get; init; } = "";
    public string Reason { get; init; } = "";
    public string Source { get; init; } = "";
    public double PacePerMinute { get; init; }
    /// <summary>The pace now (the ramp's, while it climbs).</summary>
    public double CurrentPacePerMinute { get; init; }
    public CampaignRamp? Ramp { get; init; }
    public IReadOnlyList<AbortCriterion> AbortCriteria { get; init; } = [];
    public string RequestedBy { get; init; } = "";
    public string? ApprovedBy { get; init; }
    public string? EndReason { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public int Devices { get; init; }
    public int NotStarted { get; init; }
    public int InFlight { get; init; }
    public int Succeeded { get; init; }
    public int Failed { get; init; }
    /// <summary>The campaign's devices by their retirement's state ("NotStarted" for those not started).</summary>
    public IReadOnlyDictionary<string, int> ByState { get; init; } = new Dictionary<string, int>();
    public IReadOnlyDictionary<string, int> FailuresByReason { get; init; } = new Dictionary<string, int>();
    /// <summary>Retired and failed devices so far at evenly spaced times from the campaign's start: its chart.</summary>
    public IReadOnlyList<CampaignPoint> Timeline { get; init; } = [];
    /// <summary>What happened to the campaign itself, oldest first (started, paused, approved, aborted, …).</summary>
    public IReadOnlyList<CampaignEvent> Events { get; init; } = [];
}

public record CampaignPoint
{
    public DateTimeOffset At { get; init; }
    public int Retired { get; init; }
    public int Failed { get; init; }
}

public record CampaignEvent
{
    public DateTimeOffset At { get; init; }
    public string Event { get; init; } = "";
    public string Actor { get; init; } = "";
    public string Detail { get; init; } = "";
}

public record CampaignList
{
    public IReadOnlyList<CampaignView> Campaigns { get; init; } = [];
}

public record CampaignNotFound
{
    public Guid CampaignId { get; init; }
}

/// <summary>A campaign order refused, saying why (unknown devices, the requester approving their own campaign, …).</summary>
public record CampaignCommandRefused
{
    public Guid CampaignId { get; init; }
    public string Reason { get; init; } = "";
}
