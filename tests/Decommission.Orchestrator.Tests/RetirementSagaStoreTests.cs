using System.Data.Common;
using Decommission.Testing;
using Dapper;
using Decommission.Contracts;
using Decommission.Orchestrator.Deadlines;
using Decommission.Orchestrator.Persistence;
using Decommission.Orchestrator.StateMachines;
using Decommission.Storage;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Orchestrator.Tests;

/// <summary>
/// The saga store on a real database of either engine: optimistic concurrency between replicas, restarts, deadlines that
/// pass while the host is down, a due deadline raised once when every replica sweeps.
/// </summary>
public sealed class RetirementSagaStoreTests
{
    private static async Task<OrchestratorDatabase> NewDatabase(SqlDialect engine)
    {
        var database = new OrchestratorDatabase(PostgresServer.NewLocation(engine, "orchestrator"));
        await database.MigrateAsync();
        return database;
    }

    /// <summary>
    /// Where orchestrators that share a database keep it: a SQLite file (its path), or a fresh PostgreSQL database
    /// (<c>Storage:Postgres</c>: each host makes the orchestrator schema there).
    /// </summary>
    private static async Task<(string? Path, Dictionary<string, string?> Settings)> SharedDatabase(SqlDialect engine, Dictionary<string, string?>? settings = null)
    {
        settings = new Dictionary<string, string?>(settings ?? []);
        if (engine == SqlDialect.Sqlite)
            return (OrchestratorHost.NewDatabasePath(), settings);
        settings["Storage:Postgres"] = await PostgresServer.NewDatabaseAsync();
        return (null, settings);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Two_replicas_updating_one_retirement_at_once_one_wins_the_other_is_retried_and_nothing_is_lost(SqlDialect engine)
    {
        var location = PostgresServer.NewLocation(engine, "orchestrator");
        // Two replicas: a database and a store each, on one file or schema.
        var replicas = new[] { new OrchestratorDatabase(location), new OrchestratorDatabase(location) }
            .Select(database => new RetirementSagaStore(database, TimeProvider.System)).ToArray();
        await new OrchestratorDatabase(location).MigrateAsync();
        var id = NewId.NextGuid();
        Assert.True(await replicas[0].InsertAsync(new Retirement { CorrelationId = id, CurrentState = "Erasing", DeviceId = "dev-cc" }));

        // Two writers load the same version at the same time and change different things.
        var start = new Barrier(2);
        async Task<int> Writer(RetirementSagaStore store, Action<Retirement> change)
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
            Task.Run(() => Writer(replicas[0], r => r.NetworkSegment = "decommission")),
            Task.Run(() => Writer(replicas[1], r => r.EraseAttempts = 4)));

        Assert.Equal(1, conflicts.Sum());
        var final = (await replicas[1].LoadAsync(id))!;
        Assert.Equal(("decommission", 4, 3), (final.NetworkSegment, final.EraseAttempts, final.Version));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Saves_that_arrive_together_all_land_with_their_audit_trail_and_a_refused_one_fails_alone(SqlDialect engine)
    {
        var database = await NewDatabase(engine);
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

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Two_replicas_opening_retirements_of_one_device_at_once_open_one(SqlDialect engine)
    {
        var location = PostgresServer.NewLocation(engine, "orchestrator");
        await new OrchestratorDatabase(location).MigrateAsync();
        var replicas = new[] { new OrchestratorDatabase(location), new OrchestratorDatabase(location) }
            .Select(database => new RetirementSagaStore(database, TimeProvider.System)).ToArray();

        // Ten devices, two requests each, one per replica, all at once.
        var attempts = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            try
            {
                return await replicas[i % 2].InsertAsync(new Retirement { CorrelationId = NewId.NextGuid(), CurrentState = "Requested", DeviceId = $"dev-{i / 2}" });
            }
            catch (ConcurrencyException)
            {
                return false;
            }
        })).ToList();
        var opened = await Task.WhenAll(attempts);

        Assert.Equal(10, opened.Count(o => o));
        var counts = await RetirementQueries.CountByStateAsync(new OrchestratorDatabase(location));
        Assert.Equal(10, counts["Requested"]);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task The_same_answer_delivered_to_two_orchestrators_at_once_moves_the_retirement_once(SqlDialect engine)
    {
        var (path, settings) = await SharedDatabase(engine);
        await using var first = await OrchestratorHost.StartAsync(path, settings);
        await using var second = await OrchestratorHost.StartAsync(path, settings);
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

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_due_deadline_is_raised_once_when_two_orchestrators_sweep_at_once(SqlDialect engine)
    {
        // The hosts' own sweeps run at start and then wait: the test drives the sweeps.
        var (path, settings) = await SharedDatabase(engine, new() { ["Orchestrator:SweepInterval"] = "00:10:00", ["Orchestrator:ReraiseAfter"] = "00:00:02" });
        await using var first = await OrchestratorHost.StartAsync(path, settings);
        await using var second = await OrchestratorHost.StartAsync(path, settings);
        var sweepers = new[] { first, second }.Select(h => h.Services.GetRequiredService<DeadlineSweeper>()).ToArray();
        // Closed retirements whose deadline passed: the machine ignores the event, so nothing but the sweeps moves the rows.
        var due = Enumerable.Range(0, 20).Select(_ => NewId.NextGuid()).ToList();
        foreach (var id in due)
            await first.Store.InsertAsync(new Retirement { CorrelationId = id, CurrentState = "Completed", DeviceId = $"dev-{id:N}", Deadline = DateTimeOffset.UtcNow.AddSeconds(-5) });

        var raised = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() => sweepers[i % 2].SweepOnceAsync())));
        var again = await Task.WhenAll(sweepers.Select(s => s.SweepOnceAsync()));
        Assert.Equal(due.Order(), BusTraffic.Of<RetirementDeadlineReached>(first.Harness).Concat(BusTraffic.Of<RetirementDeadlineReached>(second.Harness))
            .Select(m => m.RetirementId).Order());
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var afterReraiseWindow = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() => sweepers[i % 2].SweepOnceAsync())));

        // Each due deadline fired once in the first round, whichever sweep took it (a host's own first sweep may run late and
        // take some), and once more after the re-raise window.
        Assert.InRange(raised.Sum(), 0, 20);
        Assert.Equal(0, again.Sum());
        Assert.Equal(20, afterReraiseWindow.Sum());
        var published = BusTraffic.Of<RetirementDeadlineReached>(first.Harness).Concat(BusTraffic.Of<RetirementDeadlineReached>(second.Harness))
            .Select(m => m.RetirementId).ToList();
        Assert.Equal(due.Concat(due).Order(), published.Order());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_restarted_orchestrator_resumes_a_retirement_from_the_stored_state(SqlDialect engine)
    {
        var (path, settings) = await SharedDatabase(engine);
        Guid id, commandId;
        await using (var before = await OrchestratorHost.StartAsync(path, settings))
            (id, commandId) = await new Scenario(before).RetireToErasing("dev-restart");

        await using var after = await OrchestratorHost.StartAsync(path, settings);
        var s = new Scenario(after);
        await s.Verified(id, "dev-restart", commandId);

        await after.WaitForState(id, "RevokingIdentity");
        var revoke = await s.WaitForSent<RevokeIdentity>(m => m.RetirementId == id);
        Assert.Equal("dev-restart", revoke.Single().DeviceId);
        var trail = await RetirementQueries.AuditTrailOf(after.Services.GetRequiredService<OrchestratorDatabase>(), id);
        Assert.Equal(["Requested", "Quarantining", "Erasing", "RevokingIdentity"], trail.Select(e => e.ToState));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_deadline_that_passed_while_the_orchestrator_was_down_fires_after_restart(SqlDialect engine)
    {
        var (path, settings) = await SharedDatabase(engine, new() { ["Retirement:EraseAttemptTimeout"] = "00:00:01", ["Retirement:EraseAttempts"] = "3" });
        Guid id, commandId;
        Retirement stored;
        await using (var before = await OrchestratorHost.StartAsync(path, settings))
        {
            (id, commandId) = await new Scenario(before).RetireToErasing("dev-sleep");
            stored = (await before.Store.LoadAsync(id))!;
        }
        Assert.Equal(1, stored.EraseAttempts);
        await Task.Delay(stored.Deadline!.Value - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300) is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero);

        await using var after = await OrchestratorHost.StartAsync(path, settings);

        var second = await new Scenario(after).WaitForSent<EraseDevice>(m => m.RetirementId == id, seconds: 10);
        Assert.Equal((2, commandId), (second[0].Attempt, second[0].CommandId));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task The_audit_trail_cannot_be_rewritten(SqlDialect engine)
    {
        var database = await NewDatabase(engine);
        await using var connection = await database.OpenAsync();
        await connection.ExecuteAsync(
            "INSERT INTO audit_trail (retirement_id, device_id, from_state, to_state, event, actor, detail, at) VALUES ('r', 'd', 'A', 'B', 'E', 'x', '', '2026-01-01');");

        var update = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("UPDATE audit_trail SET actor = 'mallory';"));
        var delete = await Assert.ThrowsAnyAsync<DbException>(() => connection.ExecuteAsync("DELETE FROM audit_trail;"));

        Assert.Contains("append-only", update.Message);
        Assert.Contains("append-only", delete.Message);
        Assert.Equal("x", await connection.ExecuteScalarAsync<string>("SELECT actor FROM audit_trail;"));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Schema_scripts_are_applied_once_and_recorded(SqlDialect engine)
    {
        var database = new OrchestratorDatabase(PostgresServer.NewLocation(engine, "orchestrator"));

        var first = await database.MigrateAsync();
        var second = await database.MigrateAsync();

        Assert.Equal([1, 2, 3], first);
        Assert.Empty(second);
        await using var connection = await database.OpenAsync();
        Assert.Equal(3, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_version;"));
        if (engine == SqlDialect.Sqlite)
            Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode;"));
    }

    [Fact]
    public void The_one_open_retirement_per_device_index_names_exactly_the_closed_states_on_both_engines()
    {
        var assembly = typeof(OrchestratorDatabase).Assembly;
        var scripts = assembly.GetManifestResourceNames().Where(n => n.EndsWith("0001_retirements.sql")).ToList();

        var closed = string.Join(", ", RetirementStateMachine.ClosedStates.Select(s => $"'{s}'"));
        Assert.Equal(2, scripts.Count);
        Assert.All(scripts, script => Assert.Contains($"current_state NOT IN ({closed})", new StreamReader(assembly.GetManifestResourceStream(script)!).ReadToEnd()));
    }
}
