using System.Collections.Concurrent;
using System.Diagnostics;

namespace Decommission.Storage.Tests;

public sealed class BatcherTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A batch handler that holds its batches until <see cref="Release"/> and records them: it answers a request with ten
    /// times its value, fails a negative one, and throws for a whole batch that holds <see cref="Unlucky"/>.
    /// </summary>
    private sealed class Handler
    {
        public const int Unlucky = 666;

        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _runningNow;
        private int _mostAtOnce;

        public TaskCompletionSource FirstStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public ConcurrentQueue<(int[] Requests, long StartedAt)> Batches { get; } = new();
        public int MostAtOnce => _mostAtOnce;

        public async Task HandleAsync(IReadOnlyList<BatchItem<int, int>> batch)
        {
            var now = Interlocked.Increment(ref _runningNow);
            if (now > _mostAtOnce)
                _mostAtOnce = now;
            Batches.Enqueue(([.. batch.Select(i => i.Request).Order()], Stopwatch.GetTimestamp()));
            FirstStarted.TrySetResult();
            try
            {
                await _release.Task;
                if (batch.Any(i => i.Request == Unlucky))
                    throw new InvalidOperationException("unlucky batch");
                foreach (var item in batch)
                {
                    if (item.Request < 0)
                        item.Fail(new ArgumentOutOfRangeException(nameof(batch), item.Request, "negative"));
                    else
                        item.Complete(item.Request * 10);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _runningNow);
            }
        }

        public void Release() => _release.TrySetResult();
    }

    /// <summary>Submits <paramref name="requests"/> from parallel threads; each is queued when this returns.</summary>
    private static Task<int>[] SubmitInParallel(Batcher<int, int> batcher, IReadOnlyList<int> requests, CancellationToken cancellationToken = default)
    {
        var callers = new Task<int>[requests.Count];
        Parallel.For(0, requests.Count, i => callers[i] = batcher.SubmitAsync(requests[i], cancellationToken));
        return callers;
    }

    [Fact]
    public async Task Requests_that_arrive_while_a_batch_runs_share_the_next_batch_and_each_caller_gets_its_own_result()
    {
        var handler = new Handler();
        var batcher = new Batcher<int, int>(handler.HandleAsync);

        var first = batcher.SubmitAsync(0);
        await handler.FirstStarted.Task.WaitAsync(Patience);
        var callers = SubmitInParallel(batcher, [.. Enumerable.Range(1, 50)]);
        handler.Release();

        Assert.Equal(0, await first.WaitAsync(Patience));
        Assert.Equal(Enumerable.Range(1, 50).Select(n => n * 10), await Task.WhenAll(callers).WaitAsync(Patience));
        Assert.Equal([[0], [.. Enumerable.Range(1, 50)]], handler.Batches.Select(b => b.Requests));
        Assert.Equal(1, handler.MostAtOnce);
    }

    [Fact]
    public async Task A_failed_request_fails_its_caller_only()
    {
        var handler = new Handler();
        var batcher = new Batcher<int, int>(handler.HandleAsync);
        var first = batcher.SubmitAsync(0);
        await handler.FirstStarted.Task.WaitAsync(Patience);
        var callers = SubmitInParallel(batcher, [1, -1, 2]);
        handler.Release();

        await first.WaitAsync(Patience);
        Assert.Equal(10, await callers[0].WaitAsync(Patience));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => callers[1].WaitAsync(Patience));
        Assert.Equal(20, await callers[2].WaitAsync(Patience));
        Assert.Equal(2, handler.Batches.Count); // the failure was one item of the shared batch
    }

    [Fact]
    public async Task A_batch_that_throws_fails_every_caller_in_it_and_the_next_batch_runs_as_usual()
    {
        var handler = new Handler();
        var batcher = new Batcher<int, int>(handler.HandleAsync);
        var first = batcher.SubmitAsync(0);
        await handler.FirstStarted.Task.WaitAsync(Patience);
        var unlucky = SubmitInParallel(batcher, [12, Handler.Unlucky, 14]);
        handler.Release();

        await first.WaitAsync(Patience);
        foreach (var caller in unlucky)
            Assert.Equal("unlucky batch", (await Assert.ThrowsAsync<InvalidOperationException>(() => caller.WaitAsync(Patience))).Message);
        Assert.Equal(150, await batcher.SubmitAsync(15).WaitAsync(Patience));
    }

    [Fact]
    public async Task A_request_the_handler_leaves_open_fails_instead_of_hanging()
    {
        var batcher = new Batcher<int, int>(_ => Task.CompletedTask);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.SubmitAsync(1).WaitAsync(Patience));
        Assert.Contains("without an outcome", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_a_waiting_request_withdraws_it_and_the_others_still_run()
    {
        var handler = new Handler();
        var batcher = new Batcher<int, int>(handler.HandleAsync);
        var first = batcher.SubmitAsync(0);
        await handler.FirstStarted.Task.WaitAsync(Patience);
        using var cancel = new CancellationTokenSource();
        var withdrawn = batcher.SubmitAsync(7, cancel.Token);
        var kept = batcher.SubmitAsync(8);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn.WaitAsync(Patience));
        handler.Release();

        Assert.Equal(80, await kept.WaitAsync(Patience));
        Assert.Equal([[0], [8]], handler.Batches.Select(b => b.Requests)); // 7 never reached the handler
        await first;
    }

    [Fact]
    public async Task Cancelling_a_request_already_in_a_running_batch_still_gives_its_caller_the_outcome()
    {
        var handler = new Handler();
        var batcher = new Batcher<int, int>(handler.HandleAsync);
        using var cancel = new CancellationTokenSource();
        var taken = batcher.SubmitAsync(4, cancel.Token);
        await handler.FirstStarted.Task.WaitAsync(Patience);

        await cancel.CancelAsync();
        handler.Release();

        Assert.Equal(40, await taken.WaitAsync(Patience));
    }

    [Fact]
    public async Task An_already_cancelled_request_is_refused_without_running()
    {
        var handler = new Handler();
        var batcher = new Batcher<int, int>(handler.HandleAsync);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => batcher.SubmitAsync(1, new CancellationToken(canceled: true)));
        Assert.Empty(handler.Batches);
    }

    [Fact]
    public async Task A_paced_batch_waits_after_the_last_one_and_gathers_what_arrives_meanwhile()
    {
        // Long enough that this thread submits its next request within it even on a loaded machine (1 s was not, in CI).
        var pause = TimeSpan.FromMilliseconds(3000);
        var costs = new ConcurrentQueue<TimeSpan>();
        var handler = new Handler();
        handler.Release();
        var batcher = new Batcher<int, int>(handler.HandleAsync, lastCost =>
        {
            costs.Enqueue(lastCost);
            return pause;
        });

        await batcher.SubmitAsync(1).WaitAsync(Patience);
        var early = batcher.SubmitAsync(2);
        await Task.Delay(100);
        var late = batcher.SubmitAsync(3);

        var results = await Task.WhenAll(early, late).WaitAsync(Patience);
        Assert.Equal([20, 30], results);
        var batches = handler.Batches.ToArray();
        Assert.Equal([[1], [2, 3]], batches.Select(b => b.Requests));
        // The pause runs from the end of the first batch, which began before it ended (a timer may fire a tick early).
        var gap = Stopwatch.GetElapsedTime(batches[0].StartedAt, batches[1].StartedAt);
        Assert.True(gap >= pause - TimeSpan.FromMilliseconds(50), $"the second batch started {gap.TotalMilliseconds} ms after the first");
        Assert.NotEmpty(costs); // the pause is computed from the last batch's cost
    }
}
