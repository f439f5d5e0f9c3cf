using System.Collections;

namespace Decommission.Testing;

/// <summary>
/// The one way a test waits for something to happen: it reads again until the condition holds, and on timeout fails
/// naming what it awaited and the last value it saw. An exception from the read or the condition fails at once.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits until <paramref name="condition"/> holds.</summary>
    public static Task True(Func<bool> condition, string awaited, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        Get(() => Task.FromResult(condition()), held => held, awaited, timeout, interval);

    /// <summary>Waits until <paramref name="condition"/> holds.</summary>
    public static Task True(Func<Task<bool>> condition, string awaited, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        Get(condition, held => held, awaited, timeout, interval);

    /// <summary>Reads until the value satisfies <paramref name="until"/> and returns that value.</summary>
    public static Task<T> Get<T>(Func<T> read, Func<T, bool> until, string awaited, TimeSpan? timeout = null, TimeSpan? interval = null,
        Func<T, string>? describe = null) =>
        Get(() => Task.FromResult(read()), until, awaited, timeout, interval, describe);

    /// <summary>Reads until the value satisfies <paramref name="until"/> and returns that value.</summary>
    public static async Task<T> Get<T>(Func<Task<T>> read, Func<T, bool> until, string awaited, TimeSpan? timeout = null, TimeSpan? interval = null,
        Func<T, string>? describe = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        var reads = 0;
        while (true)
        {
            var value = await read();
            reads++;
            if (until(value))
                return value;
            if (DateTime.UtcNow >= deadline)
                throw new Xunit.Sdk.XunitException(
                    $"Waited {limit.TotalSeconds:0.###} s ({reads} reads) for {awaited}; last value: {(describe is null ? Describe(value) : describe(value))}");
            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    /// <summary>The first published or sent message of a harness list that matches, once there is one.</summary>
    public static Task<T> First<T>(Func<IEnumerable<T>> messages, Func<T, bool> match, string awaited, TimeSpan? timeout = null) where T : class =>
        Get(() => messages().FirstOrDefault(match), found => found is not null, awaited, timeout)!;

    private static string Describe(object? value) => value switch
    {
        null => "(none)",
        string text => $"\"{text}\"",
        IEnumerable items => $"[{string.Join(", ", items.Cast<object?>().Take(20).Select(Describe))}]",
        _ => value.ToString() ?? "(none)",
    };
}
