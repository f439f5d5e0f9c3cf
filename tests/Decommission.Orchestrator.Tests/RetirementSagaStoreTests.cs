using Decommission.Testing;
using Dapper;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using Decommission.Orchestrator.StateMachines;
using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Orchestrator.Tests;

/// <summary>The saga store on a real SQLite file: optimistic concurrency, restarts, deadlines that pass while the host is down.</summary>
public sealed class RetirementSagaStoreTests
{
    [Fact]
    public async Task Two_concurrent_updates_of_one_retirement_one_wins_the_other_is_retried_and_nothing_is_lost()
    {
        var path = OrchestratorHost.NewDatabasePath();
        var database = new OrchestratorDatabase(path);
        await database.MigrateAsync();
        var store = new RetirementSagaStore(database, TimeProvider.System);
        var id = NewId.NextGuid();
        Assert.True(await store.InsertAsync(new Retirement { CorrelationId = id, CurrentState = "Erasing", DeviceId = "dev-cc" }));

        // Two writers load the same version at the same time and change different things.
        var start = new Barrier(2);
        async Task<int> Writer(Action<Retirement> change)
        {
            var conflicts = 0;
            while (true)
            {
                var loaded = (await store.LoadAsync(id))!;
                if (conflicts == 0) start.SignalAndWait(TimeSpan.FromSeconds(10));
                change(loaded);
                try
                {
                    await store.UpdateAsync(loaded);
                    return conflicts;
                }
                catch (ConcurrencyException)
                {
                    conflicts++; // what MassTransit's message retry does: load again, apply again
                }
            }
        }

        var conflicts = await Task.WhenAll(
            Task.Run(() => Writer(r => r.NetworkSegment = "decommission")),
            Task.Run(() => Writer(r => r.EraseAttempts = 4)));

        Assert.Equal(1, conflicts.Sum());
        var final = (await store.LoadAsync(id))!;
        Assert.Equal(("decommission", 4, 3), (final.NetworkSegment, final.EraseAttempts, final.Version));
    }

    [Fact]
    public async Task Saves_that_arrive_together_all_land_with_their_audit_trail_and_a_refused_one_fails_alone()
    {
        var database = new OrchestratorDatabase(OrchestratorHost.NewDatabasePath());
        await database.MigrateAsync();
        var store = new RetirementSagaStore(database, TimeProvider.System);
        Assert.True(await store.InsertAsync(new Retirement { CorrelationId = NewId.NextGuid(), CurrentState = "Erasing", DeviceId = "dev-busy" }));

        Retirement New(string device)
        {
            var retirement = new Retirement { CorrelationId = NewId.NextGuid(), CurrentState = "Requested", DeviceId = device };
            retirement.PendingAudit.Add(new AuditEntry { At = DateTimeOffset.UtcNow, FromState = "Initial", ToState = "Requested", Event = "RetireDevice", Actor = "test" });
            return retirement;
        }
        var fleet = Enumerable.Range(0, 60).Select(i => New($"dev-{i:D2}")).ToList();
        var refused = New("dev-busy"); // the device already has an open retirement

        var saves = fleet.Select(r => Task.Run(() => store.InsertAsync(r))).ToList();
        var refusal = Task.Run(() => store.InsertAsync(refused));
        var landed = await Task.WhenAll(saves);

        await Assert.ThrowsAsync<ConcurrencyException>(() => refusal);
        Assert.All(landed, Assert.True);
        Assert.All(fleet, r => Assert.Empty(r.PendingAudit));
        Assert.Single(refused.PendingAudit);
        await using var connection = await database.OpenAsync();
        Assert.Equal(61, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM retirements;"));
        Assert.Equal(60, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_trail WHERE event = 'RetireDevice';"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM retirements WHERE correlation_id = @Id;", new { Id = refused.CorrelationId.ToString() }));
    }

    [Fact]
    public async Task The_same_answer_delivered_to_two_orchestrators_at_once_moves_the_retirement_once()
    {
        var path = OrchestratorHost.NewDatabasePath();
        await using var first = await OrchestratorHost.StartAsync(path);
        await using var second = await OrchestratorHost.StartAsync(path);
        var s1 = new Scenario(first);
        var s2 = new Scenario(second);
        var id = await s1.Retire("dev-twin");
        await first.WaitForState(id, "Requested");
        await s1.Accept(id, "dev-twin");
        await first.WaitForState(id, "Quarantining");

        await Task.WhenAll(s1.Quarantined(id, "dev-twin"), s2.Quarantined(id, "dev-twin"));

        var erasing = await first.WaitForState(id, "Erasing");
        await Task.Delay(1000);
        Assert.Equal(1, (await first.Store.LoadAsync(id))!.EraseAttempts);
        Assert.Single(s1.SentSoFar<EraseDevice>().Concat(s2.SentSoFar<EraseDevice>()));
        Assert.Equal("Erasing", erasing.CurrentState);
    }

    [Fact]
    public async Task A_restarted_orchestrator_resumes_a_retirement_from_the_stored_state()
    {
        var path = OrchestratorHost.NewDatabasePath();
        Guid id, commandId;
        await using (var before = await OrchestratorHost.StartAsync(path))
            (id, commandId) = await new Scenario(before).RetireToErasing("dev-restart");

        await using var after = await OrchestratorHost.StartAsync(path);
        var s = new Scenario(after);
        await s.Verified(id, "dev-restart", commandId);

        await after.WaitForState(id, "RevokingIdentity");
        var revoke = await s.WaitForSent<RevokeIdentity>(m => m.RetirementId == id);
        Assert.Equal("dev-restart", revoke.Single().DeviceId);
        var trail = await RetirementQueries.AuditTrailOf(after.Services.GetRequiredService<OrchestratorDatabase>(), id);
        Assert.Equal(["Requested", "Quarantining", "Erasing", "RevokingIdentity"], trail.Select(e => e.ToState));
    }

    [Fact]
    public async Task A_deadline_that_passed_while_the_orchestrator_was_down_fires_after_restart()
    {
        var path = OrchestratorHost.NewDatabasePath();
        var settings = new Dictionary<string, string?> { ["Retirement:EraseAttemptTimeout"] = "00:00:01", ["Retirement:EraseAttempts"] = "3" };
        Guid id, commandId;
        await using (var before = await OrchestratorHost.StartAsync(path, settings))
        {
            (id, commandId) = await new Scenario(before).RetireToErasing("dev-sleep");
        }
        var stored = await new RetirementSagaStore(new OrchestratorDatabase(path), TimeProvider.System).LoadAsync(id);
        Assert.Equal(1, stored!.EraseAttempts);
        await Task.Delay(stored.Deadline!.Value - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300) is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero);

        await using var after = await OrchestratorHost.StartAsync(path, settings);

        var second = await new Scenario(after).WaitForSent<EraseDevice>(m => m.RetirementId == id, seconds: 10);
        Assert.Equal((2, commandId), (second[0].Attempt, second[0].CommandId));
    }

    [Fact]
    public async Task The_audit_trail_cannot_be_rewritten()
    {
        var database = new OrchestratorDatabase(OrchestratorHost.NewDatabasePath());
        await database.MigrateAsync();
        await using var connection = await database.OpenAsync();
        await connection.ExecuteAsync(
            "INSERT INTO audit_trail (retirement_id, device_id, from_state, to_state, event, actor, detail, at) VALUES ('r', 'd', 'A', 'B', 'E', 'x', '', '2026-01-01');");

        var update = await Assert.ThrowsAsync<SqliteException>(() => connection.ExecuteAsync("UPDATE audit_trail SET actor = 'mallory';"));
        var delete = await Assert.ThrowsAsync<SqliteException>(() => connection.ExecuteAsync("DELETE FROM audit_trail;"));

        Assert.Contains("append-only", update.Message);
        Assert.Contains("append-only", delete.Message);
    }

    [Fact]
    public async Task Schema_scripts_are_applied_once_and_recorded()
    {
        var database = new OrchestratorDatabase(OrchestratorHost.NewDatabasePath());

        var first = await database.MigrateAsync();
        var second = await database.MigrateAsync();

        Assert.Equal([1], first);
        Assert.Empty(second);
        await using var connection = await database.OpenAsync();
        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode;"));
    }

    [Fact]
    public void The_one_open_retirement_per_device_index_names_exactly_the_closed_states()
    {
        using var stream = typeof(OrchestratorDatabase).Assembly.GetManifestResourceStream(
            typeof(OrchestratorDatabase).Assembly.GetManifestResourceNames().Single(n => n.EndsWith("0001_retirements.sql")))!;
        var schema = new StreamReader(stream).ReadToEnd();

        var closed = string.Join(", ", RetirementStateMachine.ClosedStates.Select(s => $"'{s}'"));
        Assert.Contains($"current_state NOT IN ({closed})", schema);
    }
}
