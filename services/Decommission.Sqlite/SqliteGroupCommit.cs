using Microsoft.Data.Sqlite;
using Write = System.Func<Microsoft.Data.Sqlite.SqliteConnection, Microsoft.Data.Sqlite.SqliteTransaction, System.Threading.Tasks.Task<object?>>;

namespace Decommission.Sqlite;

/// <summary>
/// Group commit for one SQLite file: writes that arrive while a transaction is being written share the next one, so a
/// burst of messages costs one lock, one commit and one copy of each shared page instead of one per message. Each write
/// runs inside its own savepoint: one that throws (a constraint, a bug) is rolled back alone and fails only its caller;
/// a commit that fails fails every write of its batch. A write's result is returned only once its batch has committed.
/// </summary>
public sealed class SqliteGroupCommit
{
    private readonly SqliteDatabase _database;
    private readonly Batcher<Write, object?> _batches;

    public SqliteGroupCommit(SqliteDatabase database)
    {
        _database = database;
        _batches = new(CommitAsync);
    }

    /// <summary>Runs <paramref name="write"/> in the next transaction and returns its result after the commit.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> write)
    {
        // No cancellation: a batch carries other callers' writes, and once queued a write is done or failed, never dropped.
        var result = await _batches.SubmitAsync(async (connection, transaction) => await write(connection, transaction));
        return (T)result!;
    }

    private async Task CommitAsync(IReadOnlyList<BatchItem<Write, object?>> batch)
    {
        var succeeded = new List<(BatchItem<Write, object?> Write, object? Result)>(batch.Count);
        await using var connection = await _database.OpenAsync();
        // BEGIN IMMEDIATE: take the write lock up front (another process may share the file).
        await using var transaction = connection.BeginTransaction(deferred: false);
        for (var i = 0; i < batch.Count; i++)
        {
            var savepoint = $"w{i}";
            transaction.Save(savepoint);
            try
            {
                var result = await batch[i].Request(connection, transaction);
                transaction.Release(savepoint);
                succeeded.Add((batch[i], result));
            }
            catch (Exception e)
            {
                transaction.Rollback(savepoint);
                transaction.Release(savepoint);
                batch[i].Fail(e);
            }
        }
        // A commit that throws fails every write still open: the batcher hands each the exception.
        await transaction.CommitAsync();
        foreach (var (write, result) in succeeded)
            write.Complete(result);
    }
}
