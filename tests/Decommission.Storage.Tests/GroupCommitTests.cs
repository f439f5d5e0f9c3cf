using Dapper;
using System.Data.Common;
using Decommission.Storage;
using Decommission.Testing;

namespace Decommission.Storage.Tests;

/// <summary>Group commit on a real database of either engine: writes that queue up share one transaction.</summary>
public sealed class GroupCommitTests
{
    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Writes_that_wait_share_the_next_transaction_and_one_that_fails_is_rolled_back_alone(SqlDialect engine)
    {
        var database = new JournalDatabase(PostgresServer.NewLocation(engine, "journal"));
        await database.MigrateAsync();
        var writes = new GroupCommit(database);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var transactions = new System.Collections.Concurrent.ConcurrentBag<DbTransaction>();

        Task<int> Append(string name) => writes.WriteAsync((connection, transaction) =>
        {
            transactions.Add(transaction);
            return connection.ExecuteAsync(
                "INSERT INTO entries (name, written) VALUES (@Name, '2026-11-25T00:00:00Z');", new { Name = name }, transaction);
        });

        // The first write holds the file while ten more queue up behind it; one of them fails half-way.
        var first = writes.WriteAsync(async (connection, transaction) =>
        {
            started.SetResult();
            await gate.Task;
            return await connection.ExecuteAsync("INSERT INTO entries (name, written) VALUES ('first', 'x');", transaction: transaction);
        });
        await started.Task;
        var queued = Enumerable.Range(0, 9).Select(i => Append($"queued-{i}")).ToList();
        var failing = writes.WriteAsync<int>(async (connection, transaction) =>
        {
            transactions.Add(transaction);
            await connection.ExecuteAsync("INSERT INTO entries (name, written) VALUES ('half', 'x');", transaction: transaction);
            throw new InvalidOperationException("refused half-way");
        });
        await Task.Delay(200); // every one of them is waiting for the first
        gate.SetResult();

        Assert.Equal(1, await first);
        Assert.All(await Task.WhenAll(queued), rows => Assert.Equal(1, rows));
        Assert.Equal("refused half-way", (await Assert.ThrowsAsync<InvalidOperationException>(() => failing)).Message);
        Assert.Single(transactions.Distinct()); // the ten that waited went in one transaction
        await using var check = await database.OpenAsync();
        Assert.Equal(10, await check.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM entries;"));
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM entries WHERE name = 'half';"));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Replicas_that_start_together_apply_each_schema_script_once(SqlDialect engine)
    {
        var location = PostgresServer.NewLocation(engine, "journal");
        var replicas = Enumerable.Range(0, 4).Select(_ => new JournalDatabase(location)).ToList();

        var applied = await Task.WhenAll(replicas.Select(r => Task.Run(() => r.MigrateAsync())));

        Assert.Equal([1], applied.SelectMany(a => a));
        await using var check = await replicas[0].OpenAsync();
        Assert.Equal(1, await check.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_version;"));
    }
}
