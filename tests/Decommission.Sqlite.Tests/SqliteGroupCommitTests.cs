using Dapper;
using Microsoft.Data.Sqlite;

namespace Decommission.Sqlite.Tests;

/// <summary>Group commit on a real SQLite file: writes that queue up share one transaction.</summary>
public sealed class SqliteGroupCommitTests
{
    [Fact]
    public async Task Writes_that_wait_share_the_next_transaction_and_one_that_fails_is_rolled_back_alone()
    {
        var database = new JournalDatabase(JournalDatabase.NewPath());
        await database.MigrateAsync();
        var writes = new SqliteGroupCommit(database);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var transactions = new System.Collections.Concurrent.ConcurrentBag<SqliteTransaction>();

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
}
