using Decommission.Testing;

namespace Decommission.Cli.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RabbitMqCollection
{
    public const string Name = "RabbitMQ";
}

/// <summary>decom against a real orchestrator on the RabbitMQ node ops/test.sh starts, the other services played.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RetirementCommandTests
{
    private static string Broker => RabbitMqNode.Uri.ToString();

    [Fact]
    public async Task A_retirement_submitted_with_decom_is_followed_to_completed_by_status_and_list()
    {
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register);

        var retired = await Decom.Run("retire", "dev-1", "--reason", "eol", "--by", "alice", "--broker", Broker);
        Assert.True(retired.ExitCode == 0, retired.ToString());
        var id = Decom.RetirementId(retired);

        var states = new List<string?>();
        var status = await Eventually.Get(() => Decom.Run("status", "dev-1", "--broker", Broker), run =>
        {
            if (Tables.Fact(run.Out, "State") == "Completed")
                return true;
            Assert.True(run.ExitCode == 0, run.ToString());
            states.Add(Tables.Fact(run.Out, "State"));
            return false;
        }, "dev-1 to show Completed in decom status", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100),
            run => $"states seen: {string.Join(", ", states)}\n{run}");
        Assert.True(Tables.Fact(status.Out, "State") == "Completed", $"never Completed; states seen: {string.Join(", ", states)}\n{status}");
        Assert.Equal(id.ToString(), Tables.Fact(status.Out, "Retirement"));
        Assert.Equal($"cert-{id:N}", Tables.Fact(status.Out, "Certificate"));
        Assert.Equal("1", Tables.Fact(status.Out, "Erase attempts"));

        var history = Tables.Rows(status.Out).Where(r => r.Length == 6 && r[0] != "At").ToList();
        Assert.Equal(["Requested", "Quarantining", "Erasing", "RevokingIdentity", "Certifying", "Completed"], history.Select(r => r[2]));
        Assert.Equal("alice", history[0][4]);

        var byId = await Decom.Run("status", id.ToString(), "--broker", Broker);
        Assert.Equal(("dev-1", "Completed"), (Tables.Fact(byId.Out, "Device"), Tables.Fact(byId.Out, "State")));

        var listed = await Decom.Run("list", "--state", "Completed", "--broker", Broker);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains(Tables.Rows(listed.Out), r => r[0] == id.ToString() && r[1] == "dev-1" && r[2] == "Completed");
        var none = await Decom.Run("list", "--state", "Failed", "--broker", Broker);
        Assert.Contains("No retirements in state Failed.", none.Out);
        var summary = await Decom.Run("summary", "--broker", Broker);
        Assert.Equal((1, 1), (Tables.Count(summary.Out, "Completed"), Tables.Count(summary.Out, "Total")));
    }

    [Fact]
    public async Task A_csv_of_50_rows_is_summarised_as_accepted_already_active_and_invalid_by_line()
    {
        // No device gateway: every retirement waits in Erasing, so a device's second and third rows find it active.
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.RegisterAllButGateway);
        var lines = new List<string> { "deviceId,reason" };
        for (var i = 1; i <= 46; i++)
        {
            lines.Add(i % 2 == 0 ? $"csv-{i:00},end of life" : $"csv-{i:00},");
            if (i == 10)
                lines.AddRange(["csv-dup,end of life", "csv-dup,end of life", "csv-dup,"]);
            if (i == 20)
                lines.Add(",no device on this row");
        }
        Assert.Equal(51, lines.Count);
        var badLine = lines.IndexOf(",no device on this row") + 1;
        var file = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}.csv");
        await File.WriteAllLinesAsync(file, lines);

        var run = await Decom.Run("retire", "--csv", file, "--reason", "fleet refresh", "--by", "bob", "--broker", Broker);

        Assert.True(run.ExitCode == 1, $"an invalid row makes the exit code 1\n{run}");
        Assert.Equal(47, Tables.Count(run.Out, "accepted (new retirements)"));
        Assert.Equal(2, Tables.Count(run.Out, "already active"));
        Assert.Equal(1, Tables.Count(run.Out, "invalid"));
        Assert.Contains(Tables.Rows(run.Out), r => r.Length == 3 && r[0] == badLine.ToString() && r[2] == "deviceId is empty");

        var dup = await Decom.Run("status", "csv-dup", "--broker", Broker);
        var dupId = Tables.Fact(dup.Out, "Retirement");
        var alreadyActive = Tables.Rows(run.Out).Where(r => r.Length == 3 && r[1] == "csv-dup").ToList();
        Assert.Equal(2, alreadyActive.Count);
        Assert.All(alreadyActive, r => Assert.StartsWith(dupId!, r[2]));

        var reasons = await Decom.Run("status", "csv-01", "--broker", Broker);
        Assert.Equal("bob", Tables.Rows(reasons.Out).First(r => r.Length == 6 && r[0] != "At")[4]);

        // With no gateway every accepted retirement ends up waiting in Erasing; summary counts them by state.
        var summary = await Eventually.Get(() => Decom.Run("summary", "--broker", Broker),
            run => !Tables.Rows(run.Out).Any(r => r[0] is "Requested" or "Quarantining"),
            "no retirement left in Requested or Quarantining in decom summary", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
        Assert.True(summary.ExitCode == 0, summary.ToString());
        Assert.Equal(47, Tables.Count(summary.Out, "Erasing"));
        Assert.Equal(47, Tables.Count(summary.Out, "Total"));
        Assert.DoesNotContain(Tables.Rows(summary.Out), r => r[0] is "Completed" or "Failed");
    }

    [Fact]
    public async Task Cancel_answers_cancelled_then_refused_and_not_found()
    {
        // No other service answers: the retirement stays in Requested, where it may be cancelled.
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(_ => { });
        var id = Decom.RetirementId(await Decom.Run("retire", "dev-cancel", "--reason", "eol", "--by", "alice", "--broker", Broker));
        await host.WaitForState(id, "Requested");

        var cancelled = await Decom.Run("cancel", id.ToString(), "--by", "carol", "--reason", "wrong device", "--broker", Broker);
        Assert.True(cancelled.ExitCode == 0, cancelled.ToString());
        Assert.Contains($"Retirement {id} of dev-cancel cancelled.", cancelled.Out);
        Assert.Equal("Cancelled", Tables.Fact((await Decom.Run("status", id.ToString(), "--broker", Broker)).Out, "State"));

        var again = await Decom.Run("cancel", id.ToString(), "--by", "carol", "--broker", Broker);
        Assert.Equal(1, again.ExitCode);
        Assert.StartsWith($"decom: retirement {id} cannot be cancelled in state Cancelled", Assert.Single(again.ErrorLines));

        var unknown = Guid.NewGuid();
        var missing = await Decom.Run("cancel", unknown.ToString(), "--by", "carol", "--broker", Broker);
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal($"decom: no retirement {unknown}", Assert.Single(missing.ErrorLines));
    }

    [Fact]
    public async Task Status_of_a_device_never_retired_is_one_line_and_exit_1()
    {
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register);

        var run = await Decom.Run("status", "never-retired", "--broker", Broker);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("decom: no retirement of device never-retired", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task A_service_that_does_not_answer_is_one_line_and_exit_4()
    {
        // No orchestrator runs: the broker takes the query, nobody answers it.
        var run = await Decom.Run("status", "dev-1", "--timeout", "1", "--broker", Broker);

        Assert.True(run.ExitCode == 4, run.ToString());
        Assert.Equal("decom: no answer from the orchestrator (queue retirement-status) within 1s; is it running?", Assert.Single(run.ErrorLines));
    }
}
