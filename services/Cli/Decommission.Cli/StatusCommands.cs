using System.CommandLine;
using Decommission.Contracts;
using Decommission.DeviceProtocol;
using MassTransit;
using Spectre.Console;

namespace Decommission.Cli;

/// <summary><c>status</c>, <c>list</c> and <c>summary</c>: queries answered by the orchestrator on queue retirement-status.</summary>
public static class StatusCommands
{
    public static Command Status(CliContext cli)
    {
        var target = new Argument<string>("deviceId|retirementId") { Description = "a retirement id, or a device id for its latest retirement" };
        var command = new Command("status", "Show a retirement: state, erase attempts, deadline, failure, certificate and history.") { target };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var value = parse.GetRequiredValue(target).Trim();
            var query = Guid.TryParse(value, out var id) ? new GetRetirementStatus { RetirementId = id } : new GetRetirementStatus { DeviceId = value };
            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            var response = await broker.Request<GetRetirementStatus, RetirementStatus, RetirementNotFound>(QueueNames.RetirementStatus, query, cancellationToken);
            if (!response.Is(out Response<RetirementStatus>? found))
                return cli.Fail(query.RetirementId is null ? $"no retirement of device {value}" : $"no retirement {value}");

            Print(cli.Output, found.Message);
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command List(CliContext cli)
    {
        var state = new Option<string>("--state") { Description = "only retirements in this state (e.g. Erasing, Failed, Completed)", HelpName = "state" };
        var limit = new Option<int>("--limit") { Description = "at most this many, most recently changed first", HelpName = "n", DefaultValueFactory = _ => 100 };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 10_000)
                result.AddError("--limit must be between 1 and 10000.");
        });
        var command = new Command("list", "List retirements, most recently changed first.") { state, limit };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var inState = string.IsNullOrWhiteSpace(parse.GetValue(state)) ? null : parse.GetValue(state)!.Trim();
            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            var list = await broker.Request<ListRetirements, RetirementList>(QueueNames.RetirementStatus,
                new ListRetirements { State = inState, Limit = parse.GetValue(limit) }, cancellationToken);

            if (list.Retirements.Count == 0)
            {
                cli.Output.Line(inState is null ? "No retirements." : $"No retirements in state {inState}.");
                return ExitCodes.Success;
            }
            var table = CliOutput.Table("Retirement", "Device", "State", "Erase attempts", "Failure", "Updated");
            foreach (var r in list.Retirements)
                CliOutput.Row(table, r.RetirementId.ToString(), r.DeviceId, r.State, r.EraseAttempts.ToString(), r.FailureReason, CliOutput.Time(r.UpdatedAt));
            cli.Output.Render(table);
            return ExitCodes.Success;
        });
        return command;
    }

    // The saga's states in the order a retirement passes through them; a state this CLI does not know is listed after them.
    private static readonly string[] StateOrder = [.. RetirementStates.All];

    public static Command Summary(CliContext cli)
    {
        var command = new Command("summary", "Count retirements by state: how far a fleet retirement has got.");

        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            var counts = (await broker.Request<CountRetirements, RetirementCounts>(QueueNames.RetirementStatus, new CountRetirements(), cancellationToken)).ByState;
            if (counts.Count == 0)
            {
                cli.Output.Line("No retirements.");
                return ExitCodes.Success;
            }
            var table = CliOutput.Table("State", "Retirements");
            foreach (var (state, count) in counts.OrderBy(c => Array.IndexOf(StateOrder, c.Key) is var i and >= 0 ? i : StateOrder.Length).ThenBy(c => c.Key, StringComparer.Ordinal))
                CliOutput.Row(table, state, count.ToString());
            CliOutput.Row(table, "Total", counts.Values.Sum().ToString());
            cli.Output.Render(table);
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Print(CliOutput output, RetirementStatus status)
    {
        var facts = new Grid().AddColumn().AddColumn();
        // Device ids and failure details come from devices and scripts: shown, never obeyed by the terminal.
        void Fact(string name, string? value) => facts.AddRow(new Text(name), new Text(string.IsNullOrEmpty(value) ? "-" : UntrustedText.Safe(value, maxLength: 4096)));
        Fact("Retirement", status.RetirementId.ToString());
        Fact("Device", status.DeviceId);
        Fact("State", status.State);
        Fact("Erase attempts", status.EraseAttempts.ToString());
        Fact("Deadline", status.Deadline is null ? null : CliOutput.Time(status.Deadline));
        Fact("Failure", status.FailureReason is null ? null : $"{status.FailureReason}{(string.IsNullOrEmpty(status.FailureDetail) ? "" : $": {status.FailureDetail}")}");
        Fact("Certificate", status.CertificateId);
        // Failed is not the end: the operator resumes it, or has the device destroyed and witnessed (NIST SP 800-88 Destroy).
        if (status.State == RetirementStates.Failed)
            Fact("Next", $"decom retry {status.RetirementId} --by NAME, or destroy the device: decom destruction record {status.RetirementId} --device … (then a witness)");
        output.Render(facts);

        var history = CliOutput.Table("At", "From", "To", "Event", "Actor", "Detail");
        history.Title = new TableTitle("History");
        foreach (var entry in status.History)
            CliOutput.Row(history, CliOutput.Time(entry.At), entry.FromState, entry.ToState, entry.Event, entry.Actor, entry.Detail);
        output.Render(history);
    }
}
