using Microsoft.Data.Sqlite;

namespace Decommission.ServiceDefaults;

/// <summary>
/// Group commit for one SQLite file: writes that arrive while a transaction is being written share the next one, so a
/// burst of messages costs one lock, one commit and one copy of each shared page instead of one per message. Each write
/// runs inside its own savepoint: one that throws (a constraint, a bug) is rolled back alone and fails only its caller;
/// a commit that fails fails every write of its batch. A write's result is returned only once its batch has committed.
/// </summary>
public sealed class SqliteGroupCommit(SqliteDatabase database)
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly List<PendingWrite> _waiting = [];

    /// <summary>Runs <paramref name="write"/> in the next transaction and returns its result after the commit.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> write)
    {
        var request = new PendingWrite<T>(write);
        lock (_waiting)
            _waiting.Add(request);
        // No cancellation: a batch carries other callers' writes, and once queued a write is done or failed, never dropped.
        await _oneAtATime.WaitAsync();
        try
        {
            // Whoever holds the lock writes everything waiting, this request included unless an earlier holder did.
            if (!request.Completed)
            {
                List<PendingWrite> batch;
                lock (_waiting)
                {
                    batch = [.. _waiting];
                    _waiting.Clear();
                }
                await CommitAsync(batch);
            }
        }
        finally
        {
            _oneAtATime.Release();
        }
        return await request.Result;
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        var succeeded = new List<PendingWrite>(batch.Count);
        try
        {
            await using var connection = await database.OpenAsync();
            // BEGIN IMMEDIATE: take the write lock up front (another process may share the file).
            await using var transaction = connection.BeginTransaction(deferred: false);
            for (var i = 0; i < batch.Count; i++)
            {
                var savepoint = $"w{i}";
                transaction.Save(savepoint);
                try
                {
                    await batch[i].RunAsync(connection, transaction);
                    transaction.Release(savepoint);
                    succeeded.Add(batch[i]);
                }
                catch (Exception e)
                {
                    transaction.Rollback(savepoint);
                    transaction.Release(savepoint);
                    batch[i].Fail(e);
                }
            }
            await transaction.CommitAsync();
        }
        catch (Exception e)
        {
            foreach (var request in batch)
                request.Fail(e);
            return;
        }
        foreach (var request in succeeded)
            request.Complete();
    }

    private abstract class PendingWrite
    {
        public abstract bool Completed { get; }
        public abstract Task RunAsync(SqliteConnection connection, SqliteTransaction transaction);
        public abstract void Complete();
        public abstract void Fail(Exception e);
    }

    private sealed class PendingWrite<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> write) : PendingWrite
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Result => _done.Task;
        public override bool Completed => _done.Task.IsCompleted;
        public override async Task RunAsync(SqliteConnection connection, SqliteTransaction transaction) => _result = await write(connection, transaction);
        public override void Complete() => _done.TrySetResult(_result);
        public override void Fail(Exception e) => _done.TrySetException(e);
    }
}
