using Decommission.Contracts;

namespace Decommission.Cli.Tests;

/// <summary>decom retry against a real orchestrator on the RabbitMQ node ops/test.sh starts, the other services played.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RetryCommandTests
{
    private static string Broker => RabbitMqNode.Uri.ToString();

    [Fact]
    public async Task Retry_resumes_a_failed_retirement_is_refused_on_one_that_is_not_failed_and_names_an_unknown_id()
    {
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(bus =>
        {
            PlayedServices.RegisterAllButGateway(bus);
            bus.AddConsumer<FirstEraseFailsGateway>().Endpoint(e => e.Name = QueueNames.EraseDevice);
        });
        var device = $"dev-retry-{Guid.NewGuid():N}";
        var id = Decom.RetirementId(await Decom.Run("retire", device, "--reason", "eol", "--by", "alice", "--broker", Broker));
        await host.WaitForState(id, RetirementStates.Failed);

        var failed = await Decom.Run("status", id.ToString(), "--broker", Broker);
        Assert.Equal(RetirementStates.Failed, Tables.Fact(failed.Out, "State"));
        Assert.StartsWith($"{FirstEraseFailsGateway.Reason}: ", Tables.Fact(failed.Out, "Failure"));
        Assert.Contains($"decom retry {id} --by NAME, or destroy the device: decom destruction record {id}", Tables.Fact(failed.Out, "Next"));

        var retried = await Decom.Run("retry", id.ToString(), "--by", "dave", "--reason", "device back on the bench", "--broker", Broker);

        Assert.True(retried.ExitCode == 0, retried.ToString());
        Assert.Equal($"Retirement {id} of {device} retried by dave: resumed in Erasing.", retried.Out.Trim());
        // A fresh erase command, which the played gateway verifies this time: the retirement runs to its end.
        var completed = await Eventually.Get(() => Decom.Run("status", id.ToString(), "--broker", Broker),
            run => Tables.Fact(run.Out, "State") == RetirementStates.Completed, $"{id} to be Completed after the retry", TimeSpan.FromSeconds(15),
            TimeSpan.FromMilliseconds(100), run => run.ToString());
        Assert.Null(Tables.Fact(completed.Out, "Next"));
        var history = Tables.Rows(completed.Out).Where(r => r.Length == 6 && r[0] != "At").ToList();
        Assert.Equal(["Requested", "Quarantining", "Erasing", "Failed", "Erasing", "RevokingIdentity", "Certifying", "Completed"], history.Select(r => r[2]));
        var retry = history[4];
        Assert.Equal(("Failed", "Erasing", "Retry", "dave", "retried: device back on the bench"), (retry[1], retry[2], retry[3], retry[4], retry[5]));
        Assert.Equal(2, FirstEraseFailsGateway.Orders(device));

        var again = await Decom.Run("retry", id.ToString(), "--by", "dave", "--broker", Broker);
        Assert.Equal(1, again.ExitCode);
        Assert.Equal($"decom: retirement {id} cannot be retried in state Completed: only a failed retirement can be retried", Assert.Single(again.ErrorLines));
        Assert.Equal("", again.Out);

        var unknown = Guid.NewGuid();
        var missing = await Decom.Run("retry", unknown.ToString(), "--by", "dave", "--broker", Broker);
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal($"decom: no retirement {unknown}", Assert.Single(missing.ErrorLines));
    }

    [Fact]
    public async Task Retry_of_a_retirement_still_running_is_refused_with_its_state()
    {
        // No other service answers: the retirement waits in Requested.
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(_ => { });
        var id = Decom.RetirementId(await Decom.Run("retire", "dev-retry-early", "--reason", "eol", "--by", "alice", "--broker", Broker));
        await host.WaitForState(id, RetirementStates.Requested);

        var run = await Decom.Run("retry", id.ToString(), "--by", "dave", "--broker", Broker);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"decom: retirement {id} cannot be retried in state Requested: only a failed retirement can be retried", Assert.Single(run.ErrorLines));
        Assert.Equal(RetirementStates.Requested, (await host.Store.LoadAsync(id))!.CurrentState);
    }
}
