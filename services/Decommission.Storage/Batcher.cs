using System.Diagnostics;

namespace Decommission.Storage;

/// <summary>
/// Group commit as a primitive: callers submit requests, one runner at a time takes everything waiting and hands it to
/// the batch handler as one batch; requests that arrive while a batch runs make up the next one. Each caller gets its
/// own outcome: the handler completes or fails each item; if it throws, every item it left open fails with that
/// exception, and later batches are not affected.
/// </summary>
public sealed class Batcher<TRequest, TResult>
{
    private readonly Func<IReadOnlyList<BatchItem<TRequest, TResult>>, Task> _handleBatch;
    private readonly Func<TimeSpan, TimeSpan>? _pauseAfter;
    private readonly Lock _gate = new();
    private List<BatchItem<TRequest, TResult>> _waiting = [];
    private bool _running;
    private long _lastEnded;
    private long _lastCostTicks;
    private long _lastPauseTicks;

    /// <param name="handleBatch">Runs one batch; completes or fails each item (an item left open fails).</param>
    /// <param name="pauseAfter">
    /// Pacing, from the last batch's duration: how long after it ended the next batch waits, gathering the requests that
    /// arrive meanwhile. Elapsed time, not a clock: it paces work. None: the next batch starts at once.
    /// </param>
    public Batcher(Func<IReadOnlyList<BatchItem<TRequest, TResult>>, Task> handleBatch, Func<TimeSpan, TimeSpan>? pauseAfter = null)
    {
        _handleBatch = handleBatch;
        _pauseAfter = pauseAfter;
    }

    /// <summary>How long a batch that started now would wait for the pacing (zero when the quiet spell has outlasted it).</summary>
    public TimeSpan PauseRemaining => RemainingPause() is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero;

    /// <summary>How long the last batch waited for the pacing before it ran.</summary>
    public TimeSpan LastPause => TimeSpan.FromTicks(Interlocked.Read(ref _lastPauseTicks));

    /// <summary>
    /// Queues <paramref name="request"/> for the next batch and returns its outcome. Cancelling withdraws a request that is
    /// still waiting; one already taken into a batch shares that batch's fate (other callers' work runs with it), so its
    /// caller gets its outcome: once taken, a request is done or failed, never dropped.
    /// </summary>
    public Task<TResult> SubmitAsync(TRequest request, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var item = new BatchItem<TRequest, TResult>(request);
        bool startRunner;
        lock (_gate)
        {
            _waiting.Add(item);
            startRunner = !_running;
            _running = true;
        }
        if (startRunner)
        {
            // The runner serves every caller's batch: it carries none's ambient state (trace, scopes) from one batch to the next.
            using (ExecutionContext.SuppressFlow())
                _ = Task.Run(RunAsync, CancellationToken.None);
        }
        return cancellationToken.CanBeCanceled ? WaitAsync(item, cancellationToken) : item.Outcome;
    }

    private async Task<TResult> WaitAsync(BatchItem<TRequest, TResult> item, CancellationToken cancellationToken)
    {
        await using (cancellationToken.Register(() => Withdraw(item, cancellationToken)))
            return await item.Outcome;
    }

    private void Withdraw(BatchItem<TRequest, TResult> item, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_waiting.Remove(item))
                item.Cancel(cancellationToken);
        }
    }

    // Runs batches while requests wait; the last one out lets the next submitter start a new runner.
    private async Task RunAsync()
    {
        while (HasWaiting())
        {
            Exception? pauseFailed = null;
            try
            {
                await PauseAsync();
            }
            catch (Exception e)
            {
                pauseFailed = e;
            }
            List<BatchItem<TRequest, TResult>> batch;
            lock (_gate)
            {
                batch = _waiting;
                _waiting = [];
                // Everything waiting may have been withdrawn during the pause.
                _running = batch.Count > 0;
            }
            if (batch.Count == 0)
                return;

            var started = Stopwatch.GetTimestamp();
            try
            {
                if (pauseFailed is not null)
                    throw pauseFailed;
                await _handleBatch(batch);
                foreach (var item in batch.Where(i => !i.IsDone))
                    item.Fail(new InvalidOperationException("The batch ended without an outcome for this request."));
            }
            catch (Exception e)
            {
                foreach (var item in batch)
                    item.Fail(e);
            }
            var ended = Stopwatch.GetTimestamp();
            Interlocked.Exchange(ref _lastCostTicks, Stopwatch.GetElapsedTime(started, ended).Ticks);
            Interlocked.Exchange(ref _lastEnded, ended);
        }
    }

    // False (and the runner's turn given back) when nothing waits: a request that arrives after this starts a new runner.
    private bool HasWaiting()
    {
        lock (_gate)
        {
            _running = _waiting.Count > 0;
            return _running;
        }
    }

    private TimeSpan? RemainingPause()
    {
        var lastEnded = Interlocked.Read(ref _lastEnded);
        if (_pauseAfter is null || lastEnded == 0)
            return null;
        return _pauseAfter(TimeSpan.FromTicks(Interlocked.Read(ref _lastCostTicks))) - Stopwatch.GetElapsedTime(lastEnded);
    }

    private async Task PauseAsync()
    {
        var wait = RemainingPause() is { } remaining && remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
        Interlocked.Exchange(ref _lastPauseTicks, wait.Ticks);
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait);
    }
}

/// <summary>One caller's request in a batch: the handler completes or fails it.</summary>
public sealed class BatchItem<TRequest, TResult>
{
    private readonly TaskCompletionSource<TResult> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal BatchItem(TRequest request) => Request = request;

    public TRequest Request { get; }

    public bool IsDone => _outcome.Task.IsCompleted;

    internal Task<TResult> Outcome => _outcome.Task;

    /// <summary>Gives the caller its result (a second outcome for the same item is ignored).</summary>
    public void Complete(TResult result) => _outcome.TrySetResult(result);

    /// <summary>Fails the caller with <paramref name="error"/> (a second outcome for the same item is ignored).</summary>
    public void Fail(Exception error) => _outcome.TrySetException(error);

    internal void Cancel(CancellationToken cancellationToken) => _outcome.TrySetCanceled(cancellationToken);
}
