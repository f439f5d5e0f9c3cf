using Dapper;

namespace Decommission.Storage.Tests;

public sealed class TruncateWalTests
{
    [Fact]
    public async Task Calls_made_together_all_return_with_the_log_copied_into_the_file_and_emptied()
    {
        var database = new JournalDatabase(JournalDatabase.NewPath());
        await database.MigrateAsync();
        for (var i = 0; i < 20; i++)
            await database.Writes.WriteAsync((connection, transaction) =>
                connection.ExecuteAsync("INSERT INTO entries (name, written) VALUES (@Name, 'x');", new { Name = $"entry-{i}" }, transaction));
        var wal = new FileInfo(database.FilePath + "-wal");
        Assert.True(wal.Exists && wal.Length > 0, "the writes went to the WAL first");

        await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() => database.TruncateWalAsync()))).WaitAsync(TimeSpan.FromSeconds(30));

        wal.Refresh();
        Assert.Equal(0, wal.Length);
        await using var check = await database.OpenAsync();
        Assert.Equal(20, await check.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM entries;"));
    }
}
