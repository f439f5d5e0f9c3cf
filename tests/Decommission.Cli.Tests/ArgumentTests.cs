namespace Decommission.Cli.Tests;

/// <summary>Wrong command lines get System.CommandLine's usage and exit 2, before anything is sent.</summary>
public sealed class ArgumentTests
{
    public static TheoryData<string[]> BadCommandLines => new()
    {
        Array.Empty<string>(),
        new[] { "frobnicate" },
        new[] { "retire" },
        new[] { "retire", "dev-1", "--by", "alice" },
        new[] { "retire", "dev-1", "--reason", "eol" },
        new[] { "retire", "dev-1", "--csv", "devices.csv", "--by", "alice" },
        new[] { "retire", "--csv", "/nonexistent/devices.csv", "--by", "alice" },
        new[] { "cancel", "not-a-guid", "--by", "alice" },
        new[] { "retry", "not-a-guid", "--by", "alice" },
        new[] { "retry", "0b9c2c6e-5f8e-4a51-9d57-3c2f6d1e2a10" },
        new[] { "retry", "0b9c2c6e-5f8e-4a51-9d57-3c2f6d1e2a10", "--by", "  " },
        new[] { "retry", "0b9c2c6e-5f8e-4a51-9d57-3c2f6d1e2a10", "--by", "alice", "--reason", new string('x', 801) },
        new[] { "list", "--limit", "0" },
        new[] { "list", "--timeout", "0" },
        new[] { "eol", "preview" },
        new[] { "devices", "hold", "dev-1", "--by", "alice" },
        new[] { "certificates", "verify", "/nonexistent/certificate.pdf" },
    };

    [Theory]
    [MemberData(nameof(BadCommandLines))]
    public async Task A_bad_command_line_prints_the_usage_and_exits_2(string[] args)
    {
        // A closed port: had anything been sent, the exit code would be 3.
        var run = await Decom.Run([.. args, "--broker", $"amqp://127.0.0.1:{Decom.ClosedPort()}/"]);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.NotEqual("", run.Error.Trim());
        Assert.Contains("Usage:", run.Out);
    }

    [Fact]
    public async Task Help_names_the_program_decom_and_every_command()
    {
        var run = await Decom.Run("--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("decom [command] [options]", run.Out);
        foreach (var command in new[] { "retire", "cancel", "retry", "status", "list", "devices", "eol", "certificates", "destruction" })
            Assert.Contains($"  {command} ", run.Out);
    }

    [Fact]
    public async Task Help_of_retry_and_destruction_names_the_two_ways_out_of_a_failed_retirement()
    {
        var retry = await Decom.Run("retry", "--help");
        var destruction = await Decom.Run("destruction", "--help");

        Assert.Equal((0, 0), (retry.ExitCode, destruction.ExitCode));
        Assert.Contains("Resume a Failed retirement", retry.Out);
        Assert.Contains("decom destruction record", retry.Out);
        Assert.Contains("Close a Failed retirement whose device cannot be erased", destruction.Out);
        Assert.Contains("decom retry", destruction.Out);
    }

    [Fact]
    public async Task A_csv_with_only_invalid_rows_reports_each_by_line_and_sends_nothing()
    {
        var file = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(file, $"site,deviceId,reason\nLyon,,eol\nLyon,dev-2,\nLyon,{new string('x', 201)},eol\n\nLyon,\"dev-\"5\",eol\n");

        var run = await Decom.Run("retire", "--csv", file, "--by", "alice", "--broker", $"amqp://127.0.0.1:{Decom.ClosedPort()}/");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal("", run.Error);
        Assert.Equal(0, Tables.Count(run.Out, "accepted (new retirements)"));
        Assert.Equal(4, Tables.Count(run.Out, "invalid"));
        var problems = Tables.Rows(run.Out).Where(r => r.Length == 3 && r[0] != "Line").ToDictionary(r => r[0], r => r[2]);
        Assert.Equal("deviceId is empty", problems["2"]);
        Assert.Equal("no reason: give a reason column or --reason", problems["3"]);
        Assert.Equal("deviceId is longer than 200 characters", problems["4"]);
        Assert.Equal("malformed CSV (a stray or unbalanced quote)", problems["6"]);
    }

    [Fact]
    public async Task A_csv_without_a_deviceId_header_is_one_line_and_exit_1()
    {
        var file = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(file, "dev-1,eol\ndev-2,eol\n");

        var run = await Decom.Run("retire", "--csv", file, "--by", "alice");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"decom: {Path.GetFileName(file)}: the first line must be a header with a deviceId column (and optionally reason)", Assert.Single(run.ErrorLines));
    }
}
