using System.CommandLine;
using System.Globalization;
using Decommission.Contracts;

namespace Decommission.Cli;

/// <summary>
/// <c>campaign start|list|show|pause|resume|abort|approve|refuse</c>: bulk retirements with a pace and abort criteria, through
/// the operator's API with your API key (the orchestrator takes campaign orders from that API only: above the approval size a
/// second person's key must approve before any device starts).
/// </summary>
public static class CampaignCommands
{
    public static Command Campaign(CliContext cli)
    {
        var command = new Command("campaign",
            "Retire many devices as a campaign: at a pace (devices per minute, optionally ramping up), stopped by abort criteria, paused, "
            + "resumed or aborted at will; above the approval size it waits for a second person's approval.")
        {
            Start(cli), List(cli), Show(cli),
        };
        foreach (var action in CampaignActions.All)
            command.Subcommands.Add(Change(cli, action));
        return command;
    }

    private static Command Start(CliContext cli)
    {
        var name = new Option<string>("--name") { Description = "the campaign's name", Required = true, HelpName = "text" };
        var csv = new Option<FileInfo>("--csv") { Description = "the devices: a CSV with a deviceId column (as for retire --csv)", HelpName = "file" };
        var devices = new Option<string>("--devices") { Description = "the devices, comma-separated", HelpName = "ids" };
        var reason = new Option<string>("--reason") { Description = "why they are retired", Required = true, HelpName = "text" };
        var pace = new Option<double>("--pace") { Description = "devices started per minute at most", Required = true, HelpName = "n" };
        var rampStart = new Option<double?>("--ramp-start") { Description = "ramp up: start at this many per minute ...", HelpName = "n" };
        var rampFactor = new Option<double>("--ramp-factor") { Description = "... multiplied by this ...", DefaultValueFactory = _ => 2, HelpName = "x" };
        var rampEvery = new Option<int>("--ramp-every") { Description = "... after every this many successes, up to --pace", DefaultValueFactory = _ => 10, HelpName = "n" };
        var abort = new Option<string[]>("--abort")
        {
            Description = "abort when PERCENT of the finished devices failed (with REASON, or any), once MIN have finished: PERCENT:MIN[:REASON]; repeatable",
            HelpName = "rule", AllowMultipleArgumentsPerToken = false,
        };
        var site = new Option<string>("--site") { Description = "or select from the inventory: every active device of this site ...", HelpName = "name" };
        var model = new Option<string>("--model") { Description = "... of this model ...", HelpName = "name" };
        var owner = new Option<string>("--owner") { Description = "... of this owner ...", HelpName = "name" };
        var endOfLifeBy = new Option<DateOnly?>("--end-of-life-by") { Description = "... whose end of life is on or before this date (devices on legal hold are left out)", HelpName = "yyyy-mm-dd" };
        var command = new Command("start", "Start a campaign over the devices of a CSV, a list, or a selection of the inventory.")
        {
            name, csv, devices, site, model, owner, endOfLifeBy, reason, pace, rampStart, rampFactor, rampEvery, abort,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var selection = new DeviceSelection
            {
                Site = parse.GetValue(site), Model = parse.GetValue(model), Owner = parse.GetValue(owner), EndOfLifeBy = parse.GetValue(endOfLifeBy),
            };
            var listed = parse.GetValue(csv) is not null || parse.GetValue(devices) is not null;
            if (listed && !selection.IsEmpty)
                throw new CliFailure(ExitCodes.Usage, "give the devices (--csv or --devices) or a selection (--site, --model, --owner, --end-of-life-by), not both");
            var ids = selection.IsEmpty ? DeviceIds(parse.GetValue(csv), parse.GetValue(devices)) : [];
            var criteria = (parse.GetValue(abort) ?? []).Select(ParseCriterion).ToList();
            var ramp = parse.GetValue(rampStart) is { } start
                ? new CampaignRamp { StartPerMinute = start, Factor = parse.GetValue(rampFactor), EverySucceeded = parse.GetValue(rampEvery) }
                : null;
            using var api = cli.Api(parse);
            var view = await api.StartCampaignAsync(new NewCampaign(parse.GetRequiredValue(name), ids, parse.GetRequiredValue(reason),
                parse.GetRequiredValue(pace), ramp, criteria, selection.IsEmpty ? null : selection), cancellationToken);
            Print(cli, view);
            cli.Output.Line(view.State == CampaignStates.AwaitingApproval
                ? $"Next        another person approves: decom campaign approve {view.CampaignId}"
                : $"Next        decom campaign show {view.CampaignId}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CliContext cli)
    {
        var command = new Command("list", "List the campaigns, newest first, with their progress.");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var api = cli.Api(parse);
            var table = CliOutput.Table("Campaign", "Name", "State", "Devices", "Retired", "Failed", "In flight", "Not started", "Pace/min");
            foreach (var c in (await api.ListCampaignsAsync(cancellationToken)).Campaigns)
                CliOutput.Row(table, c.CampaignId.ToString(), c.Name, c.State, Number(c.Devices), Number(c.Succeeded), Number(c.Failed), Number(c.InFlight),
                    Number(c.NotStarted), c.CurrentPacePerMinute.ToString("0.#", CultureInfo.InvariantCulture));
            cli.Output.Render(table);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CliContext cli)
    {
        var id = new Argument<Guid>("campaignId") { Description = "the campaign" };
        var command = new Command("show", "Show a campaign: its progress by state, its failures by reason and its trail.") { id };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var api = cli.Api(parse);
            var view = await api.GetCampaignAsync(parse.GetRequiredValue(id), cancellationToken);
            Print(cli, view);
            foreach (var (reason, count) in view.FailuresByReason.OrderByDescending(f => f.Value))
                cli.Output.Line($"  failed with {reason}: {count}");
            var trail = CliOutput.Table("At", "Event", "By", "Detail");
            foreach (var e in view.Events.Where(e => e.Event != "device started"))
                CliOutput.Row(trail, CliOutput.Time(e.At), e.Event, e.Actor, e.Detail);
            cli.Output.Render(trail);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Change(CliContext cli, string action)
    {
        var id = new Argument<Guid>("campaignId") { Description = "the campaign" };
        var note = new Option<string>("--note") { Description = "why (kept in the campaign's trail)", HelpName = "text" };
        var what = action switch
        {
            CampaignActions.Pause => "Pause a campaign: no device starts until it is resumed; those in flight go on.",
            CampaignActions.Resume => "Resume a paused campaign at its pace.",
            CampaignActions.Abort => "Abort a campaign: no device starts any more; those in flight finish.",
            CampaignActions.Approve => "Approve a campaign waiting for a second person (not the one who started it).",
            _ => "Refuse a campaign waiting for a second person: it never starts.",
        };
        var command = new Command(action, what) { id, note };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var api = cli.Api(parse);
            Print(cli, await api.ChangeCampaignAsync(parse.GetRequiredValue(id), action, parse.GetValue(note), cancellationToken));
            return ExitCodes.Success;
        });
        return command;
    }

    private static IReadOnlyList<string> DeviceIds(FileInfo? csv, string? list)
    {
        if ((csv is null) == (list is null))
            throw new CliFailure(ExitCodes.Usage, "give the devices with --csv FILE or --devices a,b,c (one of them), or select them with --site, --model, --owner or --end-of-life-by");
        if (list is not null)
            return list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!csv!.Exists)
            throw new CliFailure(ExitCodes.Usage, $"no file {csv.FullName}");
        using var reader = csv.OpenText();
        var (rows, invalid) = RetirementRows.Read(reader, "campaign", csv.Name);
        if (invalid.Count > 0)
            throw new CliFailure(ExitCodes.Usage, $"{csv.Name}: {invalid.Count} invalid row(s), first: line {invalid[0].Line}: {invalid[0].Problem}");
        return rows.Select(r => r.DeviceId).ToList();
    }

    private static AbortCriterion ParseCriterion(string rule)
    {
        var parts = rule.Split(':', 3);
        if (parts.Length < 2 || !double.TryParse(parts[0].TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var percent)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var min))
            throw new CliFailure(ExitCodes.Usage, $"--abort {rule}: write PERCENT:MIN[:REASON], e.g. 10:20 or 5:50:DeviceReportedFailure");
        return new AbortCriterion { Percent = percent, MinFinished = min, FailureReason = parts.Length == 3 ? parts[2] : null };
    }

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static void Print(CliContext cli, CampaignView view)
    {
        cli.Output.Line($"Campaign    {view.CampaignId} ({view.Name})");
        cli.Output.Line($"State       {view.State}{(view.EndReason is null ? "" : $": {view.EndReason}")}");
        if (view.Source.Length > 0)
            cli.Output.Line($"Devices of  {view.Source}");
        cli.Output.Line($"Asked by    {view.RequestedBy}{(view.ApprovedBy is null ? "" : $", approved by {view.ApprovedBy}")}");
        cli.Output.Line($"Pace        {view.CurrentPacePerMinute.ToString("0.#", CultureInfo.InvariantCulture)} per minute (at most {view.PacePerMinute.ToString("0.#", CultureInfo.InvariantCulture)})");
        cli.Output.Line($"Devices     {view.Devices}: {view.Succeeded} retired, {view.Failed} failed, {view.InFlight} in flight, {view.NotStarted} not started");
    }
}
