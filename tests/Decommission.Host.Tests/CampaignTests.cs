using System.Net;
using Decommission.Certificates.Apis;
using Decommission.Contracts;
using Decommission.DeviceAgent;
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
    }

    [Fact]
    public async Task A_paced_campaign_never_starts_more_devices_in_a_minute_than_its_pace()
    {
        const int pace = 30;
        var specs = Enumerable.Range(1, 34).Select(i => new DeviceSpec { Id = $"paced-{i:D2}", Behaviour = DeviceBehaviour.Healthy }).ToList();
        await using var host = await FleetHost.StartAsync(specs);
        using var alice = await host.ClientAsync("alice", ApiRoles.Operator);

        var (status, created, body) = await alice.PostAsync("/api/campaigns", new
        {
            name = "paced", deviceIds = specs.Select(s => s.Id), reason = "end of life", pacePerMinute = pace,
        });
        Assert.True(status == HttpStatusCode.Created, body);
        Assert.Equal(CampaignStates.Running, created!.State);

        var done = await Eventually.Get(() => alice.CampaignAsync(created.CampaignId), c => c.State == CampaignStates.Completed, "the campaign completed",
            TimeSpan.FromSeconds(150), TimeSpan.FromMilliseconds(500), c => $"{c.State}: {c.Succeeded} retired, {c.NotStarted} not started");
        Assert.Equal(34, done.Succeeded);

        // Measured from the campaign's audit trail: no minute (any window of 60 s) holds more starts than the pace ...
        var starts = done.Events.Where(e => e.Event == "device started").Select(e => e.At).Order().ToList();
        Assert.Equal(34, starts.Count);
        var busiest = starts.Max(from => starts.Count(t => t >= from && t < from.AddMinutes(1)));
        Assert.True(busiest <= pace, $"{busiest} devices started within a minute at a pace of {pace}");
        // ... and the pace is what it runs at: the 34 starts span about 33 intervals of 2 s.
        var span = starts[^1] - starts[0];
        Assert.InRange(span.TotalSeconds, 33 * 2.0, 33 * 2.0 + 20);
    }
}
