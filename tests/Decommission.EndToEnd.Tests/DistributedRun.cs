using System.Diagnostics;
using Decommission.Testing;

namespace Decommission.EndToEnd.Tests;

/// <summary>
/// The distributed run as an operator has it: ops/up.sh (a loopback RabbitMQ node, every service as its own process,
/// a simulated fleet), driven through ops/restart.sh, ops/status.sh and ops/down.sh, with the services this test
/// assembly was built with.
/// </summary>
public sealed class DistributedRun : IAsyncDisposable
{
    private bool passed;
    private bool down;

    private DistributedRun(string runDirectory, IReadOnlyDictionary<string, string> location)
    {
        RunDirectory = runDirectory;
        Location = location;
    }

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public string RunDirectory { get; }

    /// <summary>What an operator's shell knows of the run (DECOM_RUN_DIR, the configuration): every script but ops/up.sh gets
    /// only this, so the run's settings (the Section__Key overrides given to ops/up.sh) must come from the run itself.</summary>
    public IReadOnlyDictionary<string, string> Location { get; }

    /// <summary>What ops/up.sh wrote to operator.env: DECOM_BROKER, DECOM_API, DECOM_API_KEY, DECOM_CRL, …</summary>
    public IReadOnlyDictionary<string, string> Operator { get; private set; } = new Dictionary<string, string>();

    /// <summary>ops/up.sh --fleet <paramref name="fleet"/> with <paramref name="upArguments"/> besides (e.g. --cluster, --replicas 2).</summary>
    public static async Task<DistributedRun> UpAsync(int fleet, IReadOnlyDictionary<string, string> settings, params string[] upArguments)
    {
        var directory = Path.Combine(Path.GetTempPath(), "decommission-e2e", Guid.NewGuid().ToString("N")[..12]);
        var run = new DistributedRun(directory, new Dictionary<string, string>
        {
            ["DECOM_RUN_DIR"] = directory,
            ["DECOM_CONFIGURATION"] = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug",
        });
        var up = new Dictionary<string, string>(settings)
        {
            ["DECOM_UP_BUILD"] = "0",
            ["DECOM_HTTP_BASE"] = FreePortRange(16).ToString(),
        };
        try
        {
            await run.RunAsync(TimeSpan.FromMinutes(6), up, "ops/up.sh", ["--fleet", fleet.ToString(), .. upArguments]);
            run.Operator = File.ReadAllLines(Path.Combine(directory, "operator.env"))
                .Select(line => line.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    public int Pid(string service) => int.Parse(File.ReadAllText(Path.Combine(RunDirectory, service, "pid")).Trim());

    /// <summary>Every process of the run with its pid, null when it is not running (ops/status.sh --pids): each service or replica
    /// (orchestrator, or orchestrator-1 … with --replicas/--cluster), and each broker node's Erlang VM (rabbitmq, or rabbitmq-1 …).</summary>
    public async Task<IReadOnlyDictionary<string, int?>> PidsAsync() =>
        (await ScriptAsync(TimeSpan.FromMinutes(1), "ops/status.sh", "--pids"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => parts[1] == "-" ? (int?)null : int.Parse(parts[1]));

    /// <summary>kill -9 of a process <see cref="PidsAsync"/> lists: a service replica, or a broker node's beam.smp.</summary>
    public async Task CrashAsync(string name)
    {
        var pid = (await PidsAsync()).GetValueOrDefault(name) ?? throw new InvalidOperationException($"{name} is not running");
        using var process = Process.GetProcessById(pid);
        process.Kill();
        process.WaitForExit(10_000);
    }

    /// <summary>kill -9: no shutdown, no flush, whatever was in flight is cut off.</summary>
    public void Crash(string service)
    {
        using var process = Process.GetProcessById(Pid(service));
        process.Kill();
        process.WaitForExit(10_000);
    }

    /// <summary>The HTTP address a process of the run listens on (its ASPNETCORE_URLS in .run/NAME/service.env).</summary>
    public string Url(string service) => File.ReadLines(Path.Combine(RunDirectory, service, "service.env"))
        .Single(line => line.StartsWith("ASPNETCORE_URLS=", StringComparison.Ordinal))["ASPNETCORE_URLS=".Length..];

    /// <summary>ops/restart.sh NAME (a service, or rabbitmq: the run's broker node on its own data), as an operator runs it
    /// from another shell: with <see cref="Location"/> alone.</summary>
    public Task RestartAsync(string service) => ScriptAsync(TimeSpan.FromMinutes(2), "ops/restart.sh", service);

    /// <summary>Every queue of the node with the number of messages in it (ops/status.sh --queues).</summary>
    public async Task<IReadOnlyDictionary<string, int>> QueuesAsync() =>
        (await ScriptAsync(TimeSpan.FromMinutes(1), "ops/status.sh", "--queues"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .ToDictionary(parts => parts[0], parts => int.Parse(parts[1]));

    public string Log(string service) => File.ReadAllText(Path.Combine(RunDirectory, service, "service.log"));

    /// <summary>ops/down.sh: stops every process of the run; its report (how each process stopped) is the result.</summary>
    public async Task<string> DownAsync()
    {
        down = true;
        return await ScriptAsync(TimeSpan.FromMinutes(3), "ops/down.sh");
    }

    /// <summary>Stops every process of the run (unless <see cref="DownAsync"/> did); its directory goes too once
    /// <see cref="Passed"/> was called.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!down)
            await DownAsync();
        // Logs and data stay for a failed run to be read; a passing one leaves nothing behind.
        if (passed)
            Directory.Delete(RunDirectory, recursive: true);
    }

    public void Passed() => passed = true;

    /// <summary>Runs a script of ops/ (or any program) from the repository root; its stdout, or an exception with both streams.</summary>
    public Task<string> ScriptAsync(TimeSpan timeout, string program, params string[] args) =>
        RunAsync(timeout, new Dictionary<string, string>(), program, args);

    private async Task<string> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program.StartsWith("ops/", StringComparison.Ordinal) ? "bash" : program) { WorkingDirectory = RepositoryRoot };
        if (program.StartsWith("ops/", StringComparison.Ordinal))
            start.ArgumentList.Add(program);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (name, value) in Location.Concat(environment))
            start.Environment[name] = value;

        var run = await ChildProcess.RunAsync(start, timeout);
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {run.ExitCode}:\n{run.Output}\n{run.Error}");
        return run.Output;
    }

    /// <summary>
    /// The first of <paramref name="count"/> consecutive loopback ports nothing listens on, below Linux's ephemeral range
    /// (32768 and up, where outgoing connections take their ports: a service once lost its port to one).
    /// </summary>
    private static int FreePortRange(int count)
    {
        for (var tries = 0; tries < 100; tries++)
        {
            var first = Random.Shared.Next(20_000, 32_000 - count);
            if (Enumerable.Range(first, count).All(IsFree))
                return first;
        }
        throw new InvalidOperationException($"no {count} free consecutive ports between 20000 and 32000");

        static bool IsFree(int port)
        {
            try
            {
                var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Decommission.sln")))
                return directory.FullName;
        throw new InvalidOperationException($"no Decommission.sln above {AppContext.BaseDirectory}");
    }
}
