namespace Decommission.Host.Tests;

/// <summary>The demo's log file: the terminal shows the demo, the file holds the services' logs and their spans and metrics.</summary>
[Collection(nameof(TelemetryCollection))]
public sealed class DemoLogTests
{
    [Fact]
    public async Task The_demo_writes_spans_and_metrics_to_its_log_file_and_keeps_the_terminal_for_its_summary()
    {
        var data = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
        var terminal = new StringWriter();
        var stdout = Console.Out;
        Console.SetOut(terminal);
        int exit;
        try
        {
            exit = await Demo.RunAsync(["--devices", "1", "--data", data]);
        }
        finally
        {
            Console.SetOut(stdout);
        }

        Assert.Equal(0, exit);
        var log = await File.ReadAllTextAsync(Path.Combine(data, DemoLog.FileName));
        var shown = terminal.ToString();
        Assert.Contains("Retired: 1", shown);
        Assert.Contains(Path.Combine(data, DemoLog.FileName), shown);
        // The console exporter's spans and the final metrics, with the orchestrator's count, are in the file only.
        Assert.Contains("Activity.TraceId:", log);
        Assert.Contains("decommission.retirements.completed", log);
        Assert.DoesNotContain("Activity.TraceId:", shown);
        Assert.DoesNotContain("decommission.retirements.completed", shown);
    }
}
