using System.Diagnostics;
using System.Globalization;
using Decommission.Testing;

namespace Decommission.Broker.Tests;

/// <summary>A node of the cluster: its name, ports on 127.0.0.1 and the pid of its Erlang VM (null when it is not running).</summary>
public sealed record ClusterNode(int Number, string Name, int AmqpPort, int AmqpsPort, int MqttsPort, int ManagementPort, int? BeamPid);

/// <summary>
/// A three-node RabbitMQ cluster on loopback, started by the function ops/up.sh --cluster starts its broker with
/// (ops/rabbitmq-cluster.sh: rmq_cluster_start), for the tests of one class, and stopped (rmq_cluster_stop) whatever they did
/// to it: a node killed with kill -9 included. If the clean stop fails, every VM it started is killed by pid, and its epmd.
/// </summary>
public sealed class BrokerCluster : IAsyncLifetime
{
    public const int Size = 3;

    private string? _directory;

    /// <summary>The cluster's directory (its state files, the nodes' data, the PKI).</summary>
    public string Directory => _directory ?? throw new InvalidOperationException("the cluster is not up");

    /// <summary>The broker CA the nodes' server certificate (one for every node) chains to.</summary>
    public string BrokerCaPath => Path.Combine(Directory, "pki", "ca.crt");

    /// <summary>The test fleet CA (certificate and key) every node trusts for devices' client certificates.</summary>
    public (string Certificate, string Key) FleetCa => (Path.Combine(Directory, "pki", "fleet.crt"), Path.Combine(Directory, "pki", "fleet.key"));

    /// <summary>How long the cluster took to form (three nodes joined, feature flags on).</summary>
    public TimeSpan FormedIn { get; private set; }

    public IReadOnlyList<ClusterNode> Nodes { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var started = Stopwatch.StartNew();
        // On failure rmq_cluster_start leaves what it started: stop it before failing.
        var output = await Bash($"""
            # A test fleet CA in the cluster's PKI, trusted by every node: devices' identity certificates (MQTT over TLS).
            RMQ_TEST_FLEET_CA=fleet
            if ! rmq_cluster_start {Size} >&2; then rmq_cluster_stop >&2; exit 1; fi
            echo "$RMQC_DIR"
            """);
        FormedIn = started.Elapsed;
        _directory = output.Trim().Split('\n')[^1];
        Nodes = await DescribeAsync();
    }

    /// <summary>Every node as it is now (a killed node has no beam pid).</summary>
    public async Task<IReadOnlyList<ClusterNode>> DescribeAsync() =>
        (await OnClusterAsync("rmq_cluster_describe")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Select(f => new ClusterNode(Int(f[0]), f[1], Int(f[2]), Int(f[3]), Int(f[4]), Int(f[5]), f[6] == "-" ? null : Int(f[6])))
            .ToList();

    /// <summary>Bash lines with the cluster's state loaded and node <paramref name="node"/>'s (for rmq_ctl); their stdout.</summary>
    public Task<string> OnClusterAsync(string lines, int node = 1) => Bash($"""
        rmq_cluster_load "{Directory}/cluster.state"
        rmq_cluster_node {node}
        {lines}
        """);

    /// <summary>kill -9 of the node's Erlang VM: no shutdown, its connections cut, its queue replicas gone with it.</summary>
    public void Kill(ClusterNode node)
    {
        var pid = node.BeamPid ?? throw new InvalidOperationException($"node {node.Number} is not running");
        using var beam = Process.GetProcessById(pid);
        beam.Kill();
        beam.WaitForExit(10_000);
    }

    /// <summary>The nodes' AMQP (or AMQPS) endpoints, host:port, comma-separated, as Broker:Nodes takes them; starting at node
    /// <paramref name="first"/>.</summary>
    public string NodeList(bool tls, int first = 1) =>
        string.Join(',', Nodes.OrderBy(n => (n.Number - first + Size) % Size).Select(n => $"127.0.0.1:{(tls ? n.AmqpsPort : n.AmqpPort)}"));

    public async Task DisposeAsync()
    {
        if (_directory is null)
            return;
        var nodes = Nodes;
        try
        {
            nodes = await DescribeAsync();
            await OnClusterAsync("rmq_cluster_stop >&2");
        }
        finally
        {
            // Whatever went wrong above, nothing of the cluster outlives the tests.
            foreach (var pid in nodes.Select(n => n.BeamPid).OfType<int>())
                KillIfRunning(pid);
            var state = Path.Combine(_directory, "cluster.state");
            if (File.Exists(state) && File.ReadAllLines(state).FirstOrDefault(l => l.Contains("RMQC_EPMD_PID=", StringComparison.Ordinal)) is { } line
                && int.TryParse(line.Split('=')[1].Trim('"'), CultureInfo.InvariantCulture, out var epmd))
                KillIfRunning(epmd);
            if (System.IO.Directory.Exists(_directory))
                System.IO.Directory.Delete(_directory, recursive: true);
        }
    }

    private static void KillIfRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(10_000);
        }
        catch (ArgumentException)
        {
            // Gone already.
        }
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static async Task<string> Bash(string lines)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = ExternalTool.RepositoryRoot };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"""
            set -euo pipefail
            . ops/rabbitmq-node.sh
            . ops/rabbitmq-cluster.sh
            RMQ_LOG_PREFIX=broker-cluster
            {lines}
            """);
        var run = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(5));
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"ops/rabbitmq-cluster.sh failed ({run.ExitCode}):\n{run.Output}\n{run.Error}");
        return run.Output;
    }
}
