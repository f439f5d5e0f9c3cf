using System.Diagnostics;
using System.Text;

namespace Decommission.Broker.Tests;

/// <summary>A client program left running: each line it writes is kept with the time it came, for tests that measure.</summary>
public sealed class RunningClient : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(TimeSpan At, string Line)> _lines = [];

    private RunningClient(Process process) => _process = process;

    public static RunningClient Start(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var client = new RunningClient(new Process { StartInfo = start });
        client._process.OutputDataReceived += (_, e) => client.Add(e.Data);
        client._process.ErrorDataReceived += (_, e) => client.Add(e.Data);
        client._process.Start();
        client._process.BeginOutputReadLine();
        client._process.BeginErrorReadLine();
        return client;
    }

    /// <summary>Time since the start, on the clock the lines are stamped with.</summary>
    public TimeSpan Now => _clock.Elapsed;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_lines)
                return _lines.Aggregate(new StringBuilder(), (b, l) => b.AppendLine(l.Line)).ToString();
        }
    }

    /// <summary>When the <paramref name="occurrence"/>th line containing <paramref name="text"/> came; fails after <paramref name="timeout"/>.</summary>
    public async Task<TimeSpan> WaitForLineAsync(string text, TimeSpan timeout, int occurrence = 1)
    {
        var deadline = Now + timeout;
        while (true)
        {
            lock (_lines)
            {
                var matches = _lines.Where(l => l.Line.Contains(text, StringComparison.Ordinal)).ToList();
                if (matches.Count >= occurrence)
                    return matches[occurrence - 1].At;
            }
            if (Now > deadline)
                throw new TimeoutException($"no line with '{text}' (#{occurrence}) within {timeout}; the client wrote:\n{Output}");
            await Task.Delay(50);
        }
    }

    /// <summary>The exit code; fails when the program still runs after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} still runs after {timeout}; it wrote:\n{Output}");
        }
        return _process.ExitCode;
    }

    private void Add(string? line)
    {
        if (line is null)
            return;
        lock (_lines)
            _lines.Add((_clock.Elapsed, line));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
