using System.Net;
using Decommission.Certificates.Apis;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.Orchestrator.Campaigns;
using Decommission.Orchestrator.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Decommission.Testing;

namespace Decommission.Host.Tests;

/// <summary>
/// Campaigns as an operator runs them, through the operator's HTTP API with API keys, against every service in one process
/// and a fleet of simulated devices: approval by a second person above the size limit, abort criteria, the pace.
/// </summary>
public sealed class CampaignTests
{
    [Fact]
    public async Task A_campaign_of_200_with_a_fifth_failing_waits_for_a_second_person_then_aborts_at_10_percent_and_stops_starting_devices()
    {
        // Every fifth device's secure element refuses the erase (a signed Failed receipt): 20 % fail.
        var specs = Enumerable.Range(1, 200).Select(i => new DeviceSpec
        {
            Id = $"camp-{i:D3}", Behaviour = i % 5 == 0 ? DeviceBehaviour.EraseFails : DeviceBehaviour.Healthy,
        }).ToList();
        await using var host = await FleetHost.StartAsync(specs);
        using var alice = await host.ClientAsync("alice", ApiRoles.Operator);
        using var bob = await host.ClientAsync("bob", ApiRoles.Operator);
        using var auditor = await host.ClientAsync("carol", ApiRoles.Auditor);

        var (status, created, body) = await alice.PostAsync("/api/campaigns", new
        {
            name = "plant-a", deviceIds = specs.Select(s => s.Id), reason = "site closure", pacePerMinute = 1200,
            abortCriteria = new[] { new { percent = 10, minFinished = 20 } },
        });
        Assert.True(status == HttpStatusCode.Created, body);
        var id = created!.CampaignId;
        // Above the approval size (100): nothing starts until someone else approves.
        Assert.Equal(CampaignStates.AwaitingApproval, created.State);
        await Task.Delay(1000);
        var waiting = await alice.CampaignAsync(id);
        Assert.Equal((CampaignStates.AwaitingApproval, 200), (waiting.State, waiting.NotStarted));

        // The requester may not approve it, an auditor may not either; another operator may.
        var (self, _, selfBody) = await alice.PostAsync($"/api/campaigns/{id}/approve");
        Assert.Equal(HttpStatusCode.Conflict, self);
        Assert.Contains("cannot also approve", selfBody);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.PostAsync($"/api/campaigns/{id}/approve")).Status);
        Assert.Equal(0, (await alice.CampaignAsync(id)).Devices - (await alice.CampaignAsync(id)).NotStarted);
        var (approved, running, _) = await bob.PostAsync($"/api/campaigns/{id}/approve");
        Assert.Equal(HttpStatusCode.OK, approved);
        Assert.Equal((CampaignStates.Running, "bob"), (running!.State, running.ApprovedBy));

        // 10 % failed over at least 20 finished: aborted; the devices in flight finish, no other starts.
        var aborted = await Eventually.Get(() => auditor.CampaignAsync(id), c => c.State == CampaignStates.Aborted, "the campaign aborted",
            TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(200), c => $"{c.State}: {c.Succeeded} ok, {c.Failed} failed, {c.NotStarted} not started");
        Assert.Contains("abort criterion met", aborted.EndReason);
        var settled = await Eventually.Get(() => auditor.CampaignAsync(id), c => c.InFlight == 0, "the devices in flight finished",
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200), c => $"{c.InFlight} in flight");
        await Task.Delay(1500);
        var final = await auditor.CampaignAsync(id);
        Assert.Equal(CampaignStates.Aborted, final.State);
        Assert.True(final.NotStarted > 0, "every device was started: the abort stopped nothing");
        Assert.Equal(settled.NotStarted, final.NotStarted);
        Assert.True(final.Succeeded + final.Failed >= 20, $"{final.Succeeded} + {final.Failed} finished");
        Assert.True(final.Failed * 100.0 / (final.Succeeded + final.Failed) >= 10 || final.Failed >= 2);
        Assert.Equal(final.Failed, final.FailuresByReason.GetValueOrDefault(ReceiptRejectionReasons.DeviceReportedFailure));
        Assert.Equal(final.Devices, final.NotStarted + final.Succeeded + final.Failed);
        // The campaign's trail: created, a refused approval, approved, devices started, aborted — and nothing started after.
        var events = final.Events.Select(e => e.Event).ToList();
        var abortedAt = events.IndexOf("aborted");
        Assert.True(abortedAt > 0, string.Join(", ", events));
        Assert.DoesNotContain("device started", events.Skip(abortedAt));
        Assert.Contains(final.Events, e => e.Event == "approve refused" && e.Actor == "alice");
        Assert.Contains(final.Events, e => e.Event == "approve" && e.Actor == "bob");
        Assert.Equal(200 - final.NotStarted, events.Count(e => e == "device started"));
        // Who asked and who approved are each retirement's requester: its audit trail, which its certificate summarises.
        var trail = await RetirementQueries.AuditTrailOf(host.Services.GetRequiredService<OrchestratorDatabase>(), CampaignStore.RetirementIdFor(id, "camp-001"));
        Assert.Equal(("Requested", "campaign plant-a (alice, approved by bob)"), (trail[0].ToState, trail[0].Actor));
    }

    [Fact]
    public async Task A_paced_campaign_never_starts_more_devices_in_any_window_than_its_pace_allows()
    {
        // 120 per minute: one start every 0.5 s at most, so no 10-s window may hold more than 20 starts.
        const int pace = 120;
        var specs = Enumerable.Range(1, 30).Select(i => new DeviceSpec { Id = $"paced-{i:D2}", Behaviour = DeviceBehaviour.Healthy }).ToList();
        await using var host = await FleetHost.StartAsync(specs);
        using var alice = await host.ClientAsync("alice", ApiRoles.Operator);

        var (status, created, body) = await alice.PostAsync("/api/campaigns", new
        {
            name = "paced", deviceIds = specs.Select(s => s.Id), reason = "end of life", pacePerMinute = pace,
        });
        Assert.True(status == HttpStatusCode.Created, body);
        Assert.Equal(CampaignStates.Running, created!.State);

        var done = await Eventually.Get(() => alice.CampaignAsync(created.CampaignId), c => c.State == CampaignStates.Completed, "the campaign completed",
            TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(500), c => $"{c.State}: {c.Succeeded} retired, {c.NotStarted} not started");
        Assert.Equal(30, done.Succeeded);

        // Measured from the campaign's audit trail: no window holds more starts than the pace allows in it (a burst, or a
        // pace kept per minute and spent at the start of each, would) ...
        var starts = done.Events.Where(e => e.Event == "device started").Select(e => e.At).Order().ToList();
        Assert.Equal(30, starts.Count);
        var window = TimeSpan.FromSeconds(10);
        var busiest = starts.Max(from => starts.Count(t => t >= from && t < from + window));
        Assert.True(busiest <= pace * window.TotalMinutes, $"{busiest} devices started within {window.TotalSeconds} s at a pace of {pace} per minute");
        Assert.All(starts.Zip(starts.Skip(1)), pair => Assert.True(pair.Second - pair.First >= TimeSpan.FromMilliseconds(500), $"starts {pair.First:O} and {pair.Second:O}"));
        // ... and the pace is what it runs at: the 30 starts span about 29 intervals of 0.5 s.
        Assert.InRange((starts[^1] - starts[0]).TotalSeconds, 29 * 0.5, 29 * 0.5 + 10);
    }
}
