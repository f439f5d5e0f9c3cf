using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Decommission.Testing;

namespace Decommission.Host.Tests;

/// <summary>
/// What a new user sees, as a new user runs it: the Host's own executable in a child process, its terminal output read as
/// it is written. The demo's terminal holds its progress and table, not the services' logs; serve's first run prints a key
/// per role whose link opens the page in a real browser, and a later run on the same data keeps them.
/// </summary>
public sealed partial class FirstRunTests
{
    // The Host's own build output (its runtime configuration and appsettings beside it), in this test's configuration.
    private static string HostDll => Path.Combine(ExternalTool.RepositoryRoot, "services", "Decommission.Host", "bin",
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0", "Decommission.Host.dll");

    [Fact]
    public async Task The_demos_terminal_shows_its_progress_and_table_and_no_log_lines_and_ends_with_the_logs_path()
    {
        var data = NewDataDirectory();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in new[] { HostDll, "demo", "--devices", "4", "--data", data })
            start.ArgumentList.Add(argument);

        var run = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(4));

        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        var terminal = run.Output + run.Error;
        var logLines = terminal.Split('\n').Where(line => LogLine().IsMatch(line)).ToList();
        Assert.True(logLines.Count == 0, "log lines on the terminal:\n" + string.Join('\n', logLines));
        Assert.DoesNotContain("DataProtection", terminal);
        Assert.DoesNotContain("MassTransit", terminal);
        // Four devices: two offline for a while (retired), one whose erase fails, one that signs with the wrong key.
        Assert.Contains("Retired: 2", run.Output);
        Assert.Contains("Failed: 2", run.Output);
        var last = run.Output.TrimEnd().Split('\n')[^1];
        Assert.Contains(Path.Combine(data, "demo.log"), last);
        // What the services said is in the file.
        Assert.Contains("info:", await File.ReadAllTextAsync(Path.Combine(data, "demo.log")));
    }

    [Fact]
    public async Task Serves_first_run_prints_an_operator_and_an_auditor_key_whose_links_open_the_page_and_a_second_run_keeps_them()
    {
        var data = NewDataDirectory();
        Dictionary<string, string> links;
        await using (var serve = ServeProcess.Start(data))
        {
            var shown = await serve.WaitForAsync("DECOM_API_KEY");
            links = KeyLink().Matches(shown).ToDictionary(m => m.Groups["role"].Value, m => m.Groups["link"].Value);
            Assert.Equal(["auditor", "operator"], links.Keys.Order());
            Assert.Equal(2, ApiKey().Matches(shown).Select(m => m.Value).Distinct().Count() );

            // Each printed link opens the page signed in (its list is fetched with the key); a made-up key is turned away.
            foreach (var link in links.Values)
                Assert.Contains("0 certificate(s)", await ChromiumDomAsync(link));
            var forged = Regex.Replace(links["auditor"], "#key=.*$", "#key=" + Uri.EscapeDataString("dk_0000000000000000.forged"));
            Assert.Contains("The API key was not accepted.", await ChromiumDomAsync(forged));

            // The simulated fleet is there to try a campaign on: the operator page offers it, and a campaign over it runs to its end.
            var operatorPage = links["operator"].Replace("/#key=", "/operator#key=", StringComparison.Ordinal);
            Assert.Contains("Use the simulated fleet (20)", await ChromiumDomAsync(operatorPage));
            using var http = new HttpClient { BaseAddress = new Uri(serve.Address) };
            http.DefaultRequestHeaders.Add("X-Api-Key", Uri.UnescapeDataString(links["operator"][(links["operator"].IndexOf("#key=", StringComparison.Ordinal) + 5)..]));
            var fleet = await http.GetFromJsonAsync<FleetIds>("/api/demo-fleet", CampaignCalls.Json);
            Assert.Equal(20, fleet!.DeviceIds.Count);
            var (status, started, body) = await http.PostAsync("/api/campaigns", new { name = "first-try", deviceIds = fleet.DeviceIds, reason = "trying it", pacePerMinute = 6000 });
            Assert.True(status == System.Net.HttpStatusCode.Created, body);
            var done = await Eventually.Get(() => http.CampaignAsync(started!.CampaignId), c => c.State == Contracts.CampaignStates.Completed, "the campaign completed",
                TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(500), c => $"{c.State}: {c.Succeeded} retired, {c.Failed} failed");
            Assert.Equal((18, 2), (done.Succeeded, done.Failed));
        }

        // The data stays: a second run makes no new keys and prints none, and the first run's keys still open the page.
        await using (var again = ServeProcess.Start(data))
        {
            var shown = await again.WaitForAsync("API keys were made on the first run");
            Assert.DoesNotMatch(ApiKey(), shown);
            var port = new Uri(again.Address).Port;
            var auditor = new UriBuilder(links["auditor"]) { Port = port }.Uri.ToString();
            // The first run's 18 certificates, listed with the first run's key.
            Assert.Contains("18 certificate(s)", await ChromiumDomAsync(auditor));
        }
    }

    private sealed record FleetIds(IReadOnlyList<string> DeviceIds);

    private static async Task<string> ChromiumDomAsync(string url)
    {
        var profile = Directory.CreateTempSubdirectory("decommission-chromium");
        try
        {
            var (exit, dom) = await ExternalTool.Run("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", $"--user-data-dir={profile.FullName}",
                "--virtual-time-budget=10000", "--dump-dom", url);
            Assert.True(exit == 0, dom);
            return dom;
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    private static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));

    // Microsoft.Extensions.Logging's console format ("info: Category[0]"), and the usual other shapes of a log line.
    [GeneratedRegex(@"^\s*(trce|dbug|info|warn|fail|crit):\s|^\s*\[\d{2}:\d{2}:\d{2}\s|\b(Information|Warning|Error)\b.*\[\d+\]")]
    private static partial Regex LogLine();

    [GeneratedRegex(@"^\s*(?<role>operator|auditor)\s+dk_\S+\s*\n\s*open (?<link>http\S+)", RegexOptions.Multiline)]
    private static partial Regex KeyLink();

    [GeneratedRegex(@"dk_[0-9a-f]{16}\.[A-Za-z0-9_-]{20,}")]
    private static partial Regex ApiKey();

    /// <summary>serve in a child process, its output collected as it comes; killed (its whole tree) when disposed.</summary>
    private sealed class ServeProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();

        private ServeProcess(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Output => string.Join('\n', _lines);

        /// <summary>The address serve printed it listens on.</summary>
        public string Address => Regex.Match(Output, @"serving (http://\S+)").Groups[1].Value;

        public static ServeProcess Start(string data)
        {
            var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetTempPath(), RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { HostDll, "serve", "--data", data, "--urls", "http://127.0.0.1:0", "--devices", "20" })
                start.ArgumentList.Add(argument);
            return new ServeProcess(Process.Start(start)!);
        }

        public async Task<string> WaitForAsync(string text)
        {
            var clock = Stopwatch.StartNew();
            while (!Output.Contains(text, StringComparison.Ordinal))
            {
                if (_process.HasExited)
                    throw new InvalidOperationException($"serve exited ({_process.ExitCode}) before printing '{text}':\n{Output}");
                if (clock.Elapsed > TimeSpan.FromSeconds(90))
                    throw new TimeoutException($"serve did not print '{text}' within 90 s:\n{Output}");
                await Task.Delay(100);
            }
            return Output;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
