using System.Diagnostics;

namespace Decommission.Testing;

/// <summary>Runs a program to its end with both streams captured; a program that overruns is killed with its children.</summary>
public static class ChildProcess
{
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>The program's exit code and streams; <see cref="TimeoutException"/> (with what it wrote) when it overran.</summary>
    public static async Task<Result> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout}:\n{await output}{await error}");
        }
        return new Result(process.ExitCode, await output, await error);
    }
}
