using System.CommandLine;
using Decommission.Contracts;
using MassTransit;
using Spectre.Console;

namespace Decommission.Cli;

/// <summary><c>retire --csv</c>: every valid row sent as a RetireDevice, a bounded number in flight, then what became of each row.</summary>
public static class BulkRetirement
{
    public const int InFlight = 32;

    private enum Result { Accepted, AlreadyActive, NotHandled }

    private sealed record Outcome(RetirementRow Row, Result Result, string Detail, int ExitCode = ExitCodes.Success);

    public static async Task<int> RunAsync(CliContext cli, ParseResult parse, FileInfo file, string? defaultReason, string requestedBy,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<RetirementRow> rows;
        IReadOnlyList<InvalidRow> invalid;
        using (var reader = file.OpenText())
            (rows, invalid) = RetirementRows.Read(reader, defaultReason, file.Name);

        var outcomes = new Outcome?[rows.Count];
        if (rows.Count > 0)
        {
            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            await SendAllAsync(cli, broker, rows, requestedBy.Trim(), outcomes, cancellationToken);
        }

        // Rows left unsent by a lost broker or by Ctrl+C are reported too: the operator sees exactly what to send again.
        var unsent = cancellationToken.IsCancellationRequested
            ? new { Detail = "not sent: cancelled", ExitCode = ExitCodes.Cancelled }
            : new { Detail = "not sent: the broker was lost", ExitCode = ExitCodes.Unreachable };
        var handled = outcomes.Select((o, i) => o ?? new Outcome(rows[i], Result.NotHandled, unsent.Detail, unsent.ExitCode)).ToList();
        Report(cli.Output, file.Name, handled, invalid);

        var worst = handled.Select(o => o.ExitCode).Where(c => c != ExitCodes.Success).Order(SeverityFirst).FirstOrDefault();
        return worst != ExitCodes.Success ? worst : invalid.Count > 0 ? ExitCodes.Failed : ExitCodes.Success;
    }

    private static async Task SendAllAsync(CliContext cli, Broker broker, IReadOnlyList<RetirementRow> rows, string requestedBy, Outcome?[] outcomes,
        CancellationToken cancellationToken)
    {
        var client = broker.Client<RetireDevice>(QueueNames.RetireDevice);
        // A lost broker stops the rest: each remaining row would only wait out its timeout.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        CliFailure? fatal = null;

        async Task SendRows(Action answered)
        {
            try
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, rows.Count),
                    new ParallelOptions { MaxDegreeOfParallelism = InFlight, CancellationToken = stop.Token },
                    async (index, token) =>
                    {
                        var row = rows[index];
                        try
                        {
                            var messageId = NewId.NextGuid();
                            var submitted = await broker.Answered(QueueNames.RetireDevice, async () => (await client.GetResponse<RetirementSubmitted>(
                                new RetireDevice { DeviceId = row.DeviceId, Reason = row.Reason, RequestedBy = requestedBy, RequestedAt = DateTimeOffset.UtcNow },
                                Broker.WithMessageId<RetireDevice>(messageId), token)).Message);
                            // A redelivered row answers "already active" with its own retirement: it was accepted.
                            outcomes[index] = RetireCommands.StartedBy(submitted, messageId)
                                ? new Outcome(row, Result.Accepted, submitted.RetirementId.ToString())
                                : new Outcome(row, Result.AlreadyActive, $"{submitted.RetirementId} ({submitted.State})");
                        }
                        catch (CliFailure failure) when (failure.ExitCode == ExitCodes.Unreachable)
                        {
                            Interlocked.CompareExchange(ref fatal, failure, null);
                            await stop.CancelAsync();
                            return;
                        }
                        catch (Exception) when (stop.IsCancellationRequested)
                        {
                            return;
                        }
                        catch (CliFailure failure)
                        {
                            outcomes[index] = new Outcome(row, Result.NotHandled, failure.Message, failure.ExitCode);
                        }
                        answered();
                    });
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // A lost broker or Ctrl+C: reported with the rows left unsent.
            }
        }

        // A live bar on a terminal; in a log the summary says it all (Spectre's fallback would print only milestones).
        if (cli.Output.Progress.Profile.Capabilities.Interactive)
            await cli.Output.Progress.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask($"Retiring {rows.Count} devices", maxValue: rows.Count);
                    await SendRows(() => task.Increment(1));
                });
        else
            await SendRows(() => { });

        if (fatal is not null)
            await cli.Output.Error.WriteLineAsync($"decom: {fatal.Message}");
        else if (cancellationToken.IsCancellationRequested)
            await cli.Output.Error.WriteLineAsync("decom: cancelled; the summary lists the rows not sent");
    }

    private static void Report(CliOutput output, string fileName, IReadOnlyList<Outcome> outcomes, IReadOnlyList<InvalidRow> invalid)
    {
        var summary = CliOutput.Table("Rows", "Count");
        summary.Title = new TableTitle($"{fileName}: {outcomes.Count + invalid.Count} rows");
        CliOutput.Row(summary, "accepted (new retirements)", outcomes.Count(o => o.Result == Result.Accepted).ToString());
        CliOutput.Row(summary, "already active", outcomes.Count(o => o.Result == Result.AlreadyActive).ToString());
        CliOutput.Row(summary, "invalid", invalid.Count.ToString());
        var notHandled = outcomes.Where(o => o.Result == Result.NotHandled).ToList();
        if (notHandled.Count > 0)
            CliOutput.Row(summary, "not handled", notHandled.Count.ToString());
        output.Render(summary);

        if (invalid.Count > 0)
        {
            var table = CliOutput.Table("Line", "Device", "Problem");
            table.Title = new TableTitle("Invalid rows (not sent)");
            foreach (var row in invalid.OrderBy(r => r.Line))
                CliOutput.Row(table, row.Line.ToString(), row.DeviceId, row.Problem);
            output.Render(table);
        }
        Detail(output, "Already being retired", outcomes.Where(o => o.Result == Result.AlreadyActive), "Retirement");
        Detail(output, "Not handled", notHandled, "Why");
    }

    private static void Detail(CliOutput output, string title, IEnumerable<Outcome> outcomes, string detailHeader)
    {
        var list = outcomes.OrderBy(o => o.Row.Line).ToList();
        if (list.Count == 0)
            return;
        var table = CliOutput.Table("Line", "Device", detailHeader);
        table.Title = new TableTitle(title);
        foreach (var outcome in list)
            CliOutput.Row(table, outcome.Row.Line.ToString(), outcome.Row.DeviceId, outcome.Detail);
        output.Render(table);
    }

    /// <summary>The exit code that matters most when rows failed differently: Ctrl+C, a lost broker, no answer, then refusals.</summary>
    private static readonly Comparer<int> SeverityFirst = Comparer<int>.Create((a, b) => Rank(a).CompareTo(Rank(b)));

    private static int Rank(int exitCode) => exitCode switch
    {
        ExitCodes.Cancelled => 0,
        ExitCodes.Unreachable => 1,
        ExitCodes.NoAnswer => 2,
        _ => 3,
    };
}
