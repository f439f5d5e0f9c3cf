using System.Data.Common;
using Decommission.Storage;
using MassTransit.Middleware.Outbox;

namespace Decommission.Outbox;

/// <summary>What a consumer has sent so far and not yet written: the outbox of the message being consumed.</summary>
internal interface IPendingOutbox
{
    ServiceDatabase Database { get; }
    IReadOnlyList<InMemoryOutboxMessage> Unsaved { get; }
    Task RecordAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<InMemoryOutboxMessage> messages);
    void Saved(int count);
}

/// <summary>
/// The state change and the messages it causes, in one transaction: a store calls <see cref="WriteAsync{T}"/> instead of
/// <see cref="GroupCommit.WriteAsync{T}"/> for a write whose messages must not be lost. Inside a consumer that runs
/// through the outbox (<see cref="OutboxExtensions.UseOutbox{TDatabase}"/>), what it has sent so far is written with
/// the change when the change happened; outside one, it is a plain write.
/// </summary>
public static class TransactionalOutbox
{
    private static readonly AsyncLocal<Scope?> Current = new();

    /// <summary>
    /// Runs <paramref name="write"/> in the file's next transaction and then <paramref name="announce"/>, which sends what the
    /// write's result calls for (through the consumer's context: captured, not yet on the wire); when <paramref name="changed"/>
    /// says the result is a change, the consumed message's inbox row and everything sent so far are written in the same
    /// transaction. Outside a consume through the outbox, the announcement follows the commit.
    /// </summary>
    public static async Task<T> WriteAsync<T>(this GroupCommit writes, ServiceDatabase database,
        Func<DbConnection, DbTransaction, Task<T>> write, Func<T, bool> changed, Func<T, Task>? announce = null)
    {
        var outbox = Current.Value is { Open: true } scope && ReferenceEquals(scope.Outbox.Database, database) ? scope.Outbox : null;
        if (outbox is null)
        {
            var written = await writes.WriteAsync(write);
            if (announce is not null)
                await announce(written);
            return written;
        }

        var recorded = 0;
        // The transaction runs on the file's writer, which carries no caller's ambient state: the announcement runs in the
        // consumer's (its trace, MassTransit's log context), as if it had been sent from the consumer itself.
        var consumer = ExecutionContext.Capture();
        var result = await writes.WriteAsync(async (connection, transaction) =>
        {
            var result = await write(connection, transaction);
            if (announce is not null)
                await InContext(consumer, () => announce(result));
            if (changed(result))
            {
                var messages = outbox.Unsaved;
                await outbox.RecordAsync(connection, transaction, messages);
                recorded = messages.Count;
            }
            return result;
        });
        // Committed: only now do the messages count as written.
        if (changed(result))
            outbox.Saved(recorded);
        return result;
    }

    private static Task InContext(ExecutionContext? context, Func<Task> work)
    {
        if (context is null)
            return work();
        Task started = Task.CompletedTask;
        ExecutionContext.Run(context, _ => started = work(), null);
        return started;
    }

    /// <summary>Makes <paramref name="outbox"/> the one the current consume writes with, until disposed.</summary>
    internal static IDisposable Enter(IPendingOutbox outbox)
    {
        var scope = new Scope(outbox);
        Current.Value = scope;
        return scope;
    }

    // Closed when the consume ends, so work that captured the flow (a timer, a task started inside) never writes into it later.
    private sealed class Scope(IPendingOutbox outbox) : IDisposable
    {
        public IPendingOutbox Outbox { get; } = outbox;
        public bool Open { get; private set; } = true;

        public void Dispose()
        {
            Open = false;
            if (ReferenceEquals(Current.Value, this))
                Current.Value = null;
        }
    }
}
