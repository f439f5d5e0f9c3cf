namespace Decommission.Cli.Tests;

/// <summary>What an operator sees when the broker or the certificates API is not there: one line naming it, never a stack trace or a password.</summary>
public sealed class UnreachableServiceTests
{
    private const string Password = "s3cret-pw";

    public static TheoryData<string[]> BrokerCommands => new()
    {
        new[] { "retire", "dev-1", "--reason", "eol", "--by", "alice" },
        new[] { "cancel", Guid.NewGuid().ToString(), "--by", "alice" },
        new[] { "status", "dev-1" },
        new[] { "list", "--state", "Failed" },
        new[] { "devices", "hold", "dev-1", "--reason", "case 12", "--by", "alice" },
        new[] { "eol", "preview", "--days", "30" },
    };

    [Theory]
    [MemberData(nameof(BrokerCommands))]
    public async Task A_closed_broker_port_is_one_line_naming_the_broker_and_exit_3(string[] command)
    {
        var port = Decom.ClosedPort();

        var run = await Decom.Run([.. command, "--broker", $"amqp://ops:{Password}@127.0.0.1:{port}/"]);

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Equal($"decom: cannot reach the broker at amqp://127.0.0.1:{port}/ (connection refused)", Assert.Single(run.ErrorLines));
        AssertNoLeak(run);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task The_broker_comes_from_DECOM_BROKER_when_no_flag_is_given_and_the_flag_wins_over_it()
    {
        var fromVariable = Decom.ClosedPort();
        var environment = new Dictionary<string, string> { ["DECOM_BROKER"] = $"amqp://ops:{Password}@127.0.0.1:{fromVariable}/" };

        var run = await Decom.Run(environment, "status", "dev-1");
        Assert.Equal($"decom: cannot reach the broker at amqp://127.0.0.1:{fromVariable}/ (connection refused)", Assert.Single(run.ErrorLines));
        AssertNoLeak(run);

        var fromFlag = Decom.ClosedPort();
        var flagged = await Decom.Run(environment, "status", "dev-1", "--broker", $"amqp://127.0.0.1:{fromFlag}/");
        Assert.Equal($"decom: cannot reach the broker at amqp://127.0.0.1:{fromFlag}/ (connection refused)", Assert.Single(flagged.ErrorLines));
    }

    [Fact]
    public async Task A_broker_address_that_is_not_amqp_is_a_usage_error_that_does_not_echo_it()
    {
        var run = await Decom.Run(new Dictionary<string, string> { ["DECOM_BROKER"] = $"http://ops:{Password}@example" }, "status", "dev-1");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("decom: --broker (or DECOM_BROKER) must be an absolute amqp:// or amqps:// address.", Assert.Single(run.ErrorLines));
        AssertNoLeak(run);
    }

    [Fact]
    public async Task A_closed_api_port_is_one_line_naming_the_api_for_download_and_verify()
    {
        var port = Decom.ClosedPort();
        var pdf = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}.pdf");
        await File.WriteAllBytesAsync(pdf, "%PDF-1.7"u8.ToArray());
        var output = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}.pdf");

        var download = await Decom.Run("certificates", "download", "X", "--out", output, "--api", $"http://127.0.0.1:{port}", "--api-key", Password);
        Assert.True(download.ExitCode == 3, download.ToString());
        Assert.Equal($"decom: cannot reach the certificates API at http://127.0.0.1:{port}/ (connection refused)", Assert.Single(download.ErrorLines));
        AssertNoLeak(download);
        Assert.False(File.Exists(output));

        var verify = await Decom.Run(new Dictionary<string, string> { ["DECOM_API"] = $"http://127.0.0.1:{port}" }, "certificates", "verify", pdf);
        Assert.True(verify.ExitCode == 3, verify.ToString());
        Assert.Equal($"decom: cannot reach the certificates API at http://127.0.0.1:{port}/ (connection refused)", Assert.Single(verify.ErrorLines));
    }

    private static void AssertNoLeak(DecomRun run)
    {
        Assert.DoesNotContain(Password, run.Out + run.Error);
        Assert.DoesNotContain("Exception", run.Out + run.Error);
        Assert.DoesNotContain("   at ", run.Out + run.Error);
    }
}
