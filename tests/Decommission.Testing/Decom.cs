using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Decommission.Cli;

namespace Decommission.Testing;

/// <summary>What one run of decom printed and returned.</summary>
public sealed record DecomRun(int ExitCode, string Out, string Error)
{
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
}

/// <summary>Runs decom in-process, as an operator would from a shell, with captured output and no DECOM_* variables unless given.</summary>
public static partial class Decom
{
    public static Task<DecomRun> Run(params string[] args) => Run(new Dictionary<string, string>(), args);

    public static async Task<DecomRun> Run(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await DecomCli.RunAsync(args, output, error, name => environment.GetValueOrDefault(name));
        return new DecomRun(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>The first retirement id a run printed.</summary>
    public static Guid RetirementId(DecomRun run)
    {
        var match = GuidPattern().Match(run.Out);
        Assert.True(match.Success, $"no retirement id printed:\n{run}");
        return Guid.Parse(match.Value);
    }

    /// <summary>A port on 127.0.0.1 that nothing listens on (it was free a moment ago).</summary>
    public static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex GuidPattern();
}
