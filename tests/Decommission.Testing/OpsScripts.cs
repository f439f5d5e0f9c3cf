using System.Diagnostics;

namespace Decommission.Testing;

/// <summary>
/// The repository's ops/ scripts as an operator runs them, from the repository root (<see cref="ExternalTool.RepositoryRoot"/>):
/// a script on its own, or shell lines run with ops/rabbitmq-node.sh and the state of the node ops/test.sh started sourced
/// first (so rmq_ctl and the scripts that build on it reach that node). A failure throws with everything the script wrote.
/// </summary>
public static class OpsScripts
{
    /// <summary>Where ops/test.sh leaves the started node's state (ports, node name, rabbitmqctl's environment).</summary>
    public const string NodeStateVariable = "DECOM_TEST_RABBITMQ_STATE";

    /// <summary>Runs <paramref name="script"/> (e.g. ops/pki.sh) with <paramref name="arguments"/>; its standard output.</summary>
    public static async Task<string> RunAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo(Path.Combine(ExternalTool.RepositoryRoot, script)) { WorkingDirectory = ExternalTool.RepositoryRoot };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return await RunAsync(start, script);
    }

    /// <summary>
    /// Runs bash <paramref name="lines"/> (set -euo pipefail) against the test node; they see <paramref name="arguments"/> as
    /// $1, $2, …. Their standard output.
    /// </summary>
    public static async Task<string> RunOnNodeAsync(string lines, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var state = Environment.GetEnvironmentVariable(NodeStateVariable);
        if (string.IsNullOrEmpty(state))
            throw new InvalidOperationException(
                $"{NodeStateVariable} is not set: this test manages the RabbitMQ node ops/test.sh starts. Run it with ops/test.sh.");
        var start = new ProcessStartInfo("bash") { WorkingDirectory = ExternalTool.RepositoryRoot };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"""
            set -euo pipefail
            . ops/rabbitmq-node.sh
            . "${NodeStateVariable}"
            {lines}
            """);
        start.ArgumentList.Add("ops-script");
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        return await RunAsync(start, lines.Split('\n')[0]);
    }

    private static async Task<string> RunAsync(ProcessStartInfo start, string what)
    {
        var run = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(3));
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"{what} failed ({run.ExitCode}):\n{run.Output}\n{run.Error}");
        return run.Output;
    }
}
