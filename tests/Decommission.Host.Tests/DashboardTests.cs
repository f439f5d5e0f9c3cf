using Decommission.Certificates.Apis;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.Testing;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Http.Json;
using PuppeteerSharp;
using Xunit.Abstractions;

namespace Decommission.Host.Tests;

/// <summary>
/// The operator's dashboard in a real headless Chromium (the one ops/test.sh installs, driven over the DevTools protocol):
/// an operator opens it with the link serve prints, starts a campaign with its form, watches its chart and its failures
/// grouped by reason, pauses it, reads a failed device's history, retries another, records a failed device's physical
/// destruction that a second operator witnesses on the page (then the device has its certificate). Screenshots are kept in the
/// test's output directory (screenshots/).
/// </summary>
public sealed class DashboardTests(ITestOutputHelper output)
{
    private static readonly string Screenshots = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    [Fact]
    public async Task An_operator_starts_a_campaign_from_the_dashboard_sees_its_chart_and_failure_group_and_pauses_it()
    {
        // Every fourth device fails its erase; pace 120/min: 40 devices take about 20 s, long enough to pause it in flight.
        var specs = Enumerable.Range(1, 40).Select(i => new DeviceSpec
        {
            Id = $"dash-{i:D2}", Behaviour = i % 4 == 0 ? DeviceBehaviour.EraseFails : DeviceBehaviour.Healthy,
        }).ToList();
        await using var host = await FleetHost.StartAsync(specs);
        var key = await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync("olga", ApiRoles.Operator);

        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = Chromium(),
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking"],
        });
        await using var page = await browser.NewPageAsync();
        page.DefaultTimeout = 60_000; // a loaded CI machine: Chromium and the page take their time
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 1400 });
        await page.GoToAsync($"{host.BaseAddress}operator#key={Uri.EscapeDataString(key)}");
        await page.WaitForFunctionAsync("() => document.getElementById('count').textContent.includes('campaign(s)')");

        // The form: name, devices, reason, pace, abort at 90 % over 40 (not reached: a quarter fail).
        await page.TypeAsync("#name", "hall-b");
        await page.TypeAsync("#devices", string.Join("\n", specs.Select(s => s.Id)));
        await page.TypeAsync("#reason", "hall closed");
        await Fill(page, "#pace", "120");
        await Fill(page, "#abort-percent", "90");
        await Fill(page, "#abort-min", "40");
        await page.ClickAsync("#start-button");
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('Started hall-b')");

        // Live progress: some retired, some failed, the chart drawn from the timeline, the failures grouped with their action.
        await page.WaitForFunctionAsync(
            "() => { const f = document.querySelector('#chart polyline[data-series=failed]'); return f && Number(f.dataset.last) >= 2; }",
            new WaitForFunctionOptions { Timeout = 60_000, PollingInterval = 250 });
        await page.ScreenshotAsync(Path.Combine(Screenshots, "dashboard-running.png"));
        var shown = await page.EvaluateExpressionAsync<string>("document.body.innerText");
        output.WriteLine(shown);
        Assert.Contains("hall-b", shown);
        Assert.Contains("asked by olga", shown);
        Assert.Contains(ReceiptRejectionReasons.DeviceReportedFailure, shown);
        Assert.Contains("decom destruction record", shown);
        var retiredLine = await page.EvaluateExpressionAsync<int>("Number(document.querySelector('#chart polyline[data-series=retired]').dataset.last)");
        Assert.True(retiredLine >= 1, "the chart shows no retired device");

        // Pause: the page shows it paused, and the API agrees; no device starts while it is.
        await page.WaitForSelectorAsync("#action-pause");
        await page.ClickAsync("#action-pause");
        await page.WaitForFunctionAsync("() => document.getElementById('detail-state').textContent.startsWith('Paused')");
        await page.ScreenshotAsync(Path.Combine(Screenshots, "dashboard-paused.png"));
        using var api = await host.ClientAsync("auditor-check", ApiRoles.Auditor);
        var campaigns = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<CampaignList>(api, "/api/campaigns", CampaignCalls.Json);
        var paused = Assert.Single(campaigns!.Campaigns);
        Assert.Equal(CampaignStates.Paused, paused.State);
        await Task.Delay(2000);
        var later = await api.CampaignAsync(paused.CampaignId);
        Assert.Equal(paused.NotStarted, later.NotStarted);
        Assert.True(later.NotStarted > 0, "every device had started before the pause");

        // All retirements by state, and one failed device's whole history, as the page shows them.
        await page.WaitForFunctionAsync("() => document.getElementById('all-states').innerText.includes('Failed')");
        await page.TypeAsync("#history-device", "dash-04");
        await page.ClickAsync("#history-form button");
        await page.WaitForFunctionAsync("() => document.getElementById('history').tBodies[0].rows.length >= 3");
        await page.ScreenshotAsync(Path.Combine(Screenshots, "dashboard-history.png"));
        var history = await page.EvaluateExpressionAsync<string>("document.getElementById('history-summary').innerText + ' | ' + document.getElementById('history').innerText");
        output.WriteLine(history);
        Assert.Contains("dash-04: Failed (DeviceReportedFailure)", history);
        Assert.Contains("campaign hall-b (olga)", history);
        Assert.Contains("Quarantining", history);
        Assert.Contains("Erasing", history);

        // dash-04 failed: olga records its physical destruction on the page; nothing is certified until someone else witnesses it.
        await page.WaitForSelectorAsync("#destruction-form:not([hidden])");
        await page.TypeAsync("#destruction-method", "shredded");
        await page.TypeAsync("#destruction-location", "Lyon, bay 3");
        await page.ClickAsync("#destruction-record");
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('Destruction recorded as DR-')");
        var recordId = System.Text.RegularExpressions.Regex.Match(await page.EvaluateExpressionAsync<string>("document.getElementById('status').textContent"),
            "DR-[0-9A-F]+").Value;
        await Task.Delay(1000);
        var unwitnessed = await api.GetFromJsonAsync<RetirementStatus>("/api/retirements/devices/dash-04", CampaignCalls.Json);
        Assert.Equal((RetirementStates.Failed, null), (unwitnessed!.State, unwitnessed.CertificateId));

        // Retry another failed device from the page (its secure element refuses again: a second erase, and it fails again).
        await page.EvaluateFunctionAsync("() => { document.getElementById('history-device').value = 'dash-08'; }");
        await page.ClickAsync("#history-form button");
        await page.WaitForFunctionAsync("() => document.getElementById('history-summary').textContent.startsWith('dash-08: Failed')");
        await page.ClickAsync("#device-retry");
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent === 'retry dash-08: done'");
        var retried = await Eventually.Get(() => api.GetFromJsonAsync<RetirementStatus>("/api/retirements/devices/dash-08", CampaignCalls.Json),
            r => r!.History.Count(h => h.ToState == RetirementStates.Failed) == 2, "dash-08 to fail again after its retry", TimeSpan.FromSeconds(30),
            describe: r => string.Join("; ", r!.History.Select(h => $"{h.FromState}->{h.ToState} {h.Event} {h.Actor}")));
        Assert.Contains(retried!.History, h => h.FromState == RetirementStates.Failed && h.ToState == RetirementStates.Erasing && h.Actor == "olga");

        // A second operator, pavel, opens the page with his own key and witnesses the record: the device gets its certificate.
        var pavel = await host.Services.GetRequiredService<ApiKeyStore>().CreateAsync("pavel", ApiRoles.Operator);
        await page.EvaluateFunctionAsync("k => { document.getElementById('key').value = k; }", pavel);
        await page.ClickAsync("#key-form button");
        await page.TypeAsync("#witness-record", recordId);
        await page.ClickAsync("#witness-form button");
        await page.WaitForFunctionAsync("() => document.getElementById('witness-detail').textContent.includes('witnessed by pavel')");
        await page.ScreenshotAsync(Path.Combine(Screenshots, "dashboard-witnessed.png"));
        Assert.Contains("shredded at Lyon, bay 3 by olga", await page.EvaluateExpressionAsync<string>("document.getElementById('witness-detail').textContent"));
        var destroyed = await Eventually.Get(() => api.GetFromJsonAsync<RetirementStatus>("/api/retirements/devices/dash-04", CampaignCalls.Json),
            r => r!.CertificateId is not null, "dash-04's certificate", TimeSpan.FromSeconds(30));
        Assert.Equal(RetirementStates.Completed, destroyed!.State);
    }

    private static async Task Fill(IPage page, string selector, string value)
    {
        await page.EvaluateFunctionAsync("(s, v) => { document.querySelector(s).value = v; }", selector, value);
    }

    private static string Chromium()
    {
        foreach (var candidate in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" })
            if (File.Exists(candidate))
                return candidate;
        throw new InvalidOperationException("no Chromium: ops/test.sh installs Debian's chromium package");
    }
}
