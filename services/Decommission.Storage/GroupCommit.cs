using System.Data.Common;
using Write = System.Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, System.Threading.Tasks.Task<object?>>;

namespace Decommission.Storage;

/// <summary>
/// Group commit for one service's database: writes that arrive while a transaction is being written share the next one,
/// so a burst of messages costs one lock, one commit and one copy of each shared page instead of one per message. Each
/// write runs inside its own savepoint: one that throws (a constraint, a bug) is rolled back alone and fails only its
/// caller; a commit that fails fails every write of its batch. A write's result is returned only once its batch has
/// committed.
/// <para>
/// SQLite: the transaction takes the file's write lock up front, so a write sees no one else's change between its reads
/// and its writes. PostgreSQL: READ COMMITTED, with other replicas writing at the same time — a write that reads and then
/// changes what it read locks it (<c>FOR UPDATE</c>), claims with a conditional <c>UPDATE</c>, or inserts with
/// <c>ON CONFLICT</c>; a deadlock or serialization failure fails the batch like any failed commit (its callers retry).
/// </para>
/// </summary>
public sealed class GroupCommit
{
    private readonly ServiceDatabase _database;
    private readonly Batcher<Write, object?> _batches;

    public GroupCommit(ServiceDatabase database)
    {
        _database = database;
        _batches = new(CommitAsync);
    }

    /// <summary>Runs <paramref name="write"/> in the next transaction and returns its result after the commit.</summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write)
    {
        // No cancellation: a batch carries other callers' writes, and once queued a write is done or failed, never dropped.
        var result = await _batches.SubmitAsync(async (connection, transaction) => await write(connection, transaction));
        return (T)result!;
    }

    private async Task CommitAsync(IReadOnlyList<BatchItem<Write, object?>> batch)
    {
        var succeeded = new List<(BatchItem<Write, object?> Write, object? Result)>(batch.Count);
        await using var connection = await _database.OpenAsync();
        // SQLite: BEGIN IMMEDIATE, the write lock up front (another process may share the file).
        await using var transaction = await ServiceDatabase.BeginWriteAsync(connection);
        for (var i = 0; i < batch.Count; i++)
        {
            var savepoint = $"w{i}";
            await transaction.SaveAsync(savepoint);
            try
            {
                var result = await batch[i].Request(connection, transaction);
                await transaction.ReleaseAsync(savepoint);
                succeeded.Add((batch[i], result));
            }
            catch (Exception e)
            {
                await transaction.RollbackAsync(savepoint);
                await transaction.ReleaseAsync(savepoint);
                batch[i].Fail(e);
            }
        }
        // A commit that throws fails every write still open: the batcher hands each the exception.
        await transaction.CommitAsync();
        foreach (var (write, result) in succeeded)
            write.Complete(result);
    }
}
