using Dapper;
using Decommission.Contracts;
using Decommission.Orchestrator.Campaigns;
using Decommission.Orchestrator.Persistence;
using Decommission.Storage;
using Decommission.Testing;
using MassTransit;

namespace Decommission.Orchestrator.Tests;

/// <summary>The campaign store on a real database of either engine, shared by two replicas as a cluster shares it.</summary>
public sealed class CampaignStoreTests
{
    private static StartCampaign Order(int devices, double pace = 60) => new()
    {
        CampaignId = NewId.NextGuid(), Name = "c", DeviceIds = Enumerable.Range(1, devices).Select(i => $"dev-{i}").ToList(), Reason = "r",
        PacePerMinute = pace, RequestedBy = "alice", RequestedByKey = "key-alice", RequestedAt = DateTimeOffset.UtcNow,
    };

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Two_replicas_starting_at_once_share_one_pace_and_never_start_a_device_twice(SqlDialect engine)
    {
        var location = PostgresServer.NewLocation(engine, "orchestrator");
        await new OrchestratorDatabase(location).MigrateAsync();
        var replicas = new[] { new CampaignStore(new OrchestratorDatabase(location)), new CampaignStore(new OrchestratorDatabase(location)) };
        var order = Order(5);
        var now = DateTimeOffset.UtcNow;
        Assert.True(await replicas[0].CreateAsync(order, CampaignStates.Running, now));
        Assert.False(await replicas[1].CreateAsync(order, CampaignStates.Running, now)); // a redelivered order

        // Both replicas try to start a device in the same instant, ten times each: one start per pace slot.
        var interval = TimeSpan.FromSeconds(1);
        var attempts = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => replicas[i % 2].StartNextAsync(order.CampaignId, now, interval)));
        var started = Assert.Single(attempts, d => d is not null)!;
        Assert.Equal("dev-1", started.DeviceId);
        Assert.Equal(CampaignStore.RetirementIdFor(order.CampaignId, "dev-1").ToString(), started.RetirementId);

        // Not before the interval has passed; then the next device, in order.
        Assert.Null(await replicas[1].StartNextAsync(order.CampaignId, now + interval / 2, interval));
        Assert.Equal("dev-2", (await replicas[1].StartNextAsync(order.CampaignId, now + interval, interval))?.DeviceId);

        // Paused, nothing starts; the requester cannot approve (nothing awaits approval here), an unknown action is refused.
        Assert.Null(await replicas[0].ChangeAsync(new ChangeCampaign { CampaignId = order.CampaignId, Action = CampaignActions.Pause, RequestedBy = "bob", RequestedByKey = "key-bob" }, now));
        Assert.Null(await replicas[0].StartNextAsync(order.CampaignId, now + interval * 5, interval));
        Assert.Contains("cannot approve a campaign that is Paused",
            await replicas[1].ChangeAsync(new ChangeCampaign { CampaignId = order.CampaignId, Action = CampaignActions.Approve, RequestedBy = "bob", RequestedByKey = "key-bob" }, now));

        // Started but never confirmed sent: found for a resend, until marked sent.
        var unsent = await replicas[1].UnsentAsync(now + TimeSpan.FromMinutes(1), 10);
        Assert.Equal(["dev-1", "dev-2"], unsent.Select(d => d.DeviceId).Order());
        await replicas[0].MarkSentAsync(unsent[0], now);
        Assert.Single(await replicas[1].UnsentAsync(now + TimeSpan.FromMinutes(1), 10));

        var events = await replicas[1].EventsAsync(order.CampaignId);
        Assert.Equal(["created", "device started", "device started", "pause", "approve refused"], events.Select(e => e.Event));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_device_started_while_another_retirement_of_it_is_open_follows_that_retirement_to_its_end(SqlDialect engine)
    {
        var location = PostgresServer.NewLocation(engine, "orchestrator");
        var database = new OrchestratorDatabase(location);
        await database.MigrateAsync();
        var store = new CampaignStore(database);
        var order = Order(4);
        var now = DateTimeOffset.UtcNow;
        await store.CreateAsync(order, CampaignStates.Running, now);
        // dev-1 is being retired by someone else (so the saga drops the campaign's duplicate: no retirement of its own);
        // dev-2 was retired and cancelled long ago, which says nothing about the campaign's retirement, still on its way.
        var other = Guid.NewGuid();
        await using (var connection = await database.OpenAsync())
        {
            const string insert = """
                INSERT INTO retirements (correlation_id, current_state, version, device_id, deadline_ms, updated_at, data)
                VALUES (@Id, @State, 1, @Device, NULL, @At, '{}');
                """;
            await connection.ExecuteAsync(insert, new { Id = other.ToString(), State = RetirementStates.Erasing, Device = "dev-1", At = now.AddMinutes(-1).ToString("O") });
            await connection.ExecuteAsync(insert, new { Id = Guid.NewGuid().ToString(), State = RetirementStates.Cancelled, Device = "dev-2", At = now.AddDays(-3).ToString("O") });
            // dev-3's own retirement failed (its reason in the saga's data); dev-4 is not started.
            await connection.ExecuteAsync("""
                INSERT INTO retirements (correlation_id, current_state, version, device_id, deadline_ms, updated_at, data)
                VALUES (@Id, 'Failed', 1, 'dev-3', NULL, @At, @Data);
                """, new { Id = CampaignStore.RetirementIdFor(order.CampaignId, "dev-3").ToString(), At = now.AddSeconds(1).ToString("O"), Data = """{"FailureReason":"NoAnswer"}""" });
        }
        for (var i = 0; i < 3; i++)
            Assert.NotNull(await store.StartNextAsync(order.CampaignId, now, TimeSpan.Zero));

        var progress = (await store.ProgressAsync(order.CampaignId)).ToDictionary(p => p.DeviceId);
        Assert.Equal((true, RetirementStates.Erasing), (progress["dev-1"].Started, progress["dev-1"].State));
        Assert.Equal((true, null), (progress["dev-2"].Started, progress["dev-2"].State));
        // The database's counts (what the driver and the list read) agree with the device-by-device tally.
        static object Counts(CampaignTally t) => (t.Devices, t.NotStarted, t.InFlight, t.Succeeded, t.Failed, t.Cancelled, string.Join(",", t.FailuresByReason.OrderBy(f => f.Key)));
        Assert.Equal((4, 1, 2, 0, 1, 0, "[NoAnswer, 1]"), Counts(await store.TallyAsync(order.CampaignId)));
        Assert.Equal(Counts(CampaignTally.Of(await store.ProgressAsync(order.CampaignId))), Counts(await store.TallyAsync(order.CampaignId)));

        await using (var connection = await database.OpenAsync())
            await connection.ExecuteAsync("UPDATE retirements SET current_state = @State, updated_at = @At WHERE correlation_id = @Id;",
                new { State = RetirementStates.Completed, At = now.AddSeconds(5).ToString("O"), Id = other.ToString() });
        var settled = (await store.ProgressAsync(order.CampaignId)).Single(p => p.DeviceId == "dev-1");
        Assert.Equal(RetirementStates.Completed, settled.State);
        Assert.NotNull(settled.SettledAt);
        // dev-2's own retirement arrives and completes: dev-1 (through the other retirement) and dev-2 retired, dev-3 failed.
        await using (var connection = await database.OpenAsync())
            await connection.ExecuteAsync("""
                INSERT INTO retirements (correlation_id, current_state, version, device_id, deadline_ms, updated_at, data)
                VALUES (@Id, 'Completed', 1, 'dev-2', NULL, @At, '{}');
                """, new { Id = CampaignStore.RetirementIdFor(order.CampaignId, "dev-2").ToString(), At = now.AddSeconds(6).ToString("O") });
        Assert.Equal((4, 1, 0, 2, 1, 0, "[NoAnswer, 1]"), Counts(await store.TallyAsync(order.CampaignId)));
        Assert.Equal(Counts(CampaignTally.Of(await store.ProgressAsync(order.CampaignId))), Counts(await store.TallyAsync(order.CampaignId)));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Only_a_second_person_approves_and_the_campaign_trail_cannot_be_rewritten(SqlDialect engine)
    {
        var location = PostgresServer.NewLocation(engine, "orchestrator");
        var database = new OrchestratorDatabase(location);
        await database.MigrateAsync();
        var store = new CampaignStore(database);
        var order = Order(3);
        var now = DateTimeOffset.UtcNow;
        await store.CreateAsync(order, CampaignStates.AwaitingApproval, now);

        Assert.Null(await store.StartNextAsync(order.CampaignId, now, TimeSpan.Zero));
        // The same key under another name, and the same name with another key, are the requester.
        Assert.Contains("cannot also approve", await store.ChangeAsync(new ChangeCampaign { CampaignId = order.CampaignId, Action = CampaignActions.Approve, RequestedBy = "mallory", RequestedByKey = "key-alice" }, now));
        Assert.Contains("cannot also approve", await store.ChangeAsync(new ChangeCampaign { CampaignId = order.CampaignId, Action = CampaignActions.Approve, RequestedBy = "alice", RequestedByKey = "key-other" }, now));
        Assert.Null(await store.ChangeAsync(new ChangeCampaign { CampaignId = order.CampaignId, Action = CampaignActions.Approve, RequestedBy = "bob", RequestedByKey = "key-bob" }, now));
        var approved = await store.FindAsync(order.CampaignId);
        Assert.Equal((CampaignStates.Running, "bob"), (approved!.State, approved.ApprovedBy));
        Assert.NotNull(await store.StartNextAsync(order.CampaignId, now, TimeSpan.Zero));

        await using var connection = await database.OpenAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => Dapper.SqlMapper.ExecuteAsync(connection, "UPDATE campaign_events SET actor = 'alice';"));
        await Assert.ThrowsAnyAsync<Exception>(() => Dapper.SqlMapper.ExecuteAsync(connection, "DELETE FROM campaign_events;"));
    }
}
