using System.Net;
using System.Net.Http.Json;
using Decommission.Certificates.Apis;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.Inventory.EndOfLife;
using Decommission.Testing;
using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Host.Tests;

/// <summary>
/// Campaigns that do not list their devices: a selection of the inventory (site, model, owner, end of life) made through the
/// operator's API, and the end-of-life scheduler's batch of the day, announced beforehand (the notice) and held back by a
/// legal hold set from the API — against every service in one process and simulated devices.
/// </summary>
public sealed class SelectionAndEndOfLifeTests
{
    private static readonly DateOnly Today = DateOnly.FromDateTime(DateTime.UtcNow);

    [Fact]
    public async Task A_selection_campaign_retires_the_sites_matching_devices_and_leaves_the_held_one()
    {
        var ids = Enumerable.Range(1, 8).Select(i => $"sel-{i:D2}").ToList();
        await using var host = await FleetHost.StartAsync(ids.Select(id => new DeviceSpec { Id = id, Behaviour = DeviceBehaviour.Healthy }).ToList());
        // sel-01..05 in Hall C (sel-05 another model), the rest elsewhere.
        await ImportAsync(host, ids.Select(id => (id, Site: string.CompareOrdinal(id, "sel-05") <= 0 ? "Hall C" : "Hall D",
            Model: id == "sel-05" ? "TX-9" : "TH-200", EndOfLife: (DateOnly?)null)));
        using var olga = await host.ClientAsync("olga", ApiRoles.Operator);
        using var auditor = await host.ClientAsync("carol", ApiRoles.Auditor);
        using var meter = new HostMeasurements(host.Services.GetRequiredService<IMeterFactory>());

        // A hold from the API keeps sel-04 out of the selection; an auditor may not hold devices.
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.PostAsJsonAsync("/api/devices/sel-04/hold", new { reason = "dispute" })).StatusCode);
        var held = await olga.PostAsJsonAsync("/api/devices/sel-04/hold", new { reason = "dispute with the landlord" });
        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await olga.PostAsJsonAsync("/api/devices/no-such-device/hold", new { reason = "x" })).StatusCode);

        var none = await olga.PostAsync("/api/campaigns", new { name = "none", reason = "x", pacePerMinute = 600, selection = new { site = "Hall Z" } });
        Assert.Equal(HttpStatusCode.BadRequest, none.Status);
        Assert.Contains("matches no active device", none.Body);
        var both = await olga.PostAsync("/api/campaigns", new { name = "both", reason = "x", pacePerMinute = 600, deviceIds = new[] { "sel-01" }, selection = new { site = "Hall C" } });
        Assert.Equal(HttpStatusCode.BadRequest, both.Status);

        var (status, created, body) = await olga.PostAsync("/api/campaigns", new
        {
            name = "hall-c", reason = "hall closed", pacePerMinute = 600, selection = new { site = "hall c", model = "TH-200" },
        });
        Assert.True(status == HttpStatusCode.Created, body);
        Assert.Equal("selection: site=hall c, model=TH-200 (1 on legal hold left out)", created!.Source);
        Assert.Equal(3, created.Devices);
        var done = await Eventually.Get(() => auditor.CampaignAsync(created.CampaignId), c => c.State == CampaignStates.Completed, "the campaign completed",
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200), c => $"{c.State}: {c.Succeeded} ok, {c.Failed} failed");
        Assert.Equal(3, done.Succeeded);
        foreach (var id in new[] { "sel-01", "sel-02", "sel-03" })
            Assert.Equal(RetirementStates.Completed, (await auditor.GetFromJsonAsync<RetirementStatus>($"/api/retirements/devices/{id}", CampaignCalls.Json))!.State);
        foreach (var id in new[] { "sel-04", "sel-05", "sel-06" })
            Assert.Equal(HttpStatusCode.NotFound, (await auditor.GetAsync($"/api/retirements/devices/{id}")).StatusCode);

        // One device's orders through the API: retire one device (not an auditor; a bad id is refused), cancel it too late, retry
        // a retirement that does not exist.
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.PostAsJsonAsync("/api/retirements", new { deviceId = "sel-07", reason = "spare" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await olga.PostAsJsonAsync("/api/retirements", new { deviceId = "sel 07", reason = "spare" })).StatusCode);
        var retire = await olga.PostAsJsonAsync("/api/retirements", new { deviceId = "sel-07", reason = "spare part" });
        Assert.Equal(HttpStatusCode.Accepted, retire.StatusCode);
        var submitted = (await retire.Content.ReadFromJsonAsync<RetirementSubmitted>(CampaignCalls.Json))!;
        var retired = await Eventually.Get(() => auditor.GetFromJsonAsync<RetirementStatus>("/api/retirements/devices/sel-07", CampaignCalls.Json),
            r => r!.State == RetirementStates.Completed, "sel-07 retired", TimeSpan.FromSeconds(30));
        Assert.Equal(submitted.RetirementId, retired!.RetirementId);
        Assert.Contains(retired.History, h => h.ToState == RetirementStates.Requested && h.Actor == "olga");
        var late = await olga.PostAsJsonAsync($"/api/retirements/{submitted.RetirementId}/cancel", new { reason = "changed my mind" });
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Contains("Completed", await late.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await olga.PostAsJsonAsync($"/api/retirements/{Guid.NewGuid()}/retry", new { })).StatusCode);

        // The orchestrator's campaign metrics, as its meter reports them.
        Assert.Equal(1, meter.Sum("decommission.campaigns.created", ("source", "selection")));
        Assert.Equal(3, meter.Sum("decommission.campaign.devices.started"));
        await Eventually.True(() => meter.Sum("decommission.campaigns.ended", ("state", CampaignStates.Completed)) == 1, "the completed campaign counted");
    }

    [Fact]
    public async Task The_end_of_life_notice_lists_the_devices_due_a_hold_keeps_one_out_and_the_days_batch_runs_as_a_campaign()
    {
        var ids = Enumerable.Range(1, 5).Select(i => $"eol-{i}").ToList();
        await using var host = await FleetHost.StartAsync(ids.Select(id => new DeviceSpec { Id = id, Behaviour = DeviceBehaviour.Healthy }).ToList());
        // eol-1..3 were due yesterday, eol-4 is due in three days, eol-5 in sixty.
        await ImportAsync(host, ids.Select((id, i) => (id, "Lyon plant", "TH-200", (DateOnly?)(i < 3 ? Today.AddDays(-1) : i == 3 ? Today.AddDays(3) : Today.AddDays(60)))));
        using var olga = await host.ClientAsync("olga", ApiRoles.Operator);
        using var auditor = await host.ClientAsync("carol", ApiRoles.Auditor);

        var notice = await auditor.GetFromJsonAsync<EndOfLifePreview>("/api/end-of-life?days=7", CampaignCalls.Json);
        Assert.Equal(["eol-1", "eol-2", "eol-3", "eol-4"], notice!.Devices.Select(d => d.DeviceId).Order());
        Assert.Equal(Today.AddDays(3), notice.Devices.Single(d => d.DeviceId == "eol-4").EndOfLife);

        // Held after the notice, before its day: eol-2 leaves the notice and the batch.
        Assert.Equal(HttpStatusCode.OK, (await olga.PostAsJsonAsync("/api/devices/eol-2/hold", new { reason = "kept for the investigation" })).StatusCode);
        Assert.Equal(["eol-1", "eol-3", "eol-4"], (await auditor.GetFromJsonAsync<EndOfLifePreview>("/api/end-of-life?days=7", CampaignCalls.Json))!
            .Devices.Select(d => d.DeviceId).Order());

        // The day's scan: one campaign of the due devices, requested by the scheduler, paced, and retired.
        var sent = await host.Services.GetRequiredService<EndOfLifeScheduler>().ScanOnceAsync();
        Assert.Equal(["eol-1", "eol-3"], sent.Order());
        var campaign = await Eventually.Get(async () => (await auditor.GetFromJsonAsync<CampaignList>("/api/campaigns", CampaignCalls.Json))!.Campaigns,
            list => list.Count == 1 && list[0].State == CampaignStates.Completed, "the end-of-life campaign completed", TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(200), list => string.Join(", ", list.Select(c => $"{c.Name} {c.State} {c.Succeeded}")));
        var view = campaign.Single();
        Assert.Equal((2, 2, "end-of-life scheduler", "end-of-life scheduler"), (view.Devices, view.Succeeded, view.RequestedBy, view.Source));
        // Named after the day of its scan (the campaign's creation; a run across midnight UTC still agrees).
        Assert.Equal($"end of life {DateOnly.FromDateTime(view.CreatedAt.UtcDateTime):yyyy-MM-dd}", view.Name);
        Assert.Equal(HttpStatusCode.NotFound, (await auditor.GetAsync("/api/retirements/devices/eol-2")).StatusCode);
        // Released, eol-2 is in the next day's batch (here: the next scan).
        Assert.Equal(HttpStatusCode.OK, (await olga.PostAsJsonAsync("/api/devices/eol-2/release", new { })).StatusCode);
        Assert.Equal(["eol-2"], await host.Services.GetRequiredService<EndOfLifeScheduler>().ScanOnceAsync());
    }

    /// <summary>What one host's meters (those its IMeterFactory made) measure, summed by instrument and tag.</summary>
    private sealed class HostMeasurements : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly System.Collections.Concurrent.ConcurrentQueue<(string Name, long Value, KeyValuePair<string, object?>[] Tags)> _measured = new();

        public HostMeasurements(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory))
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => _measured.Enqueue((instrument.Name, value, tags.ToArray())));
            _listener.Start();
        }

        public long Sum(string name, params (string Key, string Value)[] tags) =>
            _measured.Where(m => m.Name == name && tags.All(t => m.Tags.Any(tag => tag.Key == t.Key && Equals(tag.Value?.ToString(), t.Value))))
                .Sum(m => m.Value);

        public void Dispose() => _listener.Dispose();
    }

    private static async Task ImportAsync(FleetHost host, IEnumerable<(string Id, string Site, string Model, DateOnly? EndOfLife)> devices)
    {
        var csv = "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n" + string.Join("\n",
            devices.Select(d => $"{d.Id},Acme Sensors,{d.Model},SN-{d.Id},ASSET-{d.Id},eMMC 8 GB,Plant operations,{d.Site},floor-a,{d.EndOfLife:yyyy-MM-dd}"));
        var imported = await host.Services.GetRequiredService<IBus>().CreateRequestClient<ImportDevices>(new Uri($"queue:{QueueNames.Inventory}"))
            .GetResponse<DevicesImported>(new ImportDevices { Csv = csv, RequestedBy = "test" });
        Assert.Empty(imported.Message.Problems);
    }
}
