using System.Text.Json;
using Decommission.Topology;

namespace Decommission.Deployment.Tests;

/// <summary>docker-compose.yml's profile cluster (docs/deployment.md): three broker nodes in one cluster, PostgreSQL, two replicas
/// of every service against every node and the shared keys; and the default profile left as it was.</summary>
public sealed class ComposeFileClusterTests
{
    private static readonly string[] Nodes = ["rabbitmq-1", "rabbitmq-2", "rabbitmq-3"];

    private readonly ComposeFile _cluster = ComposeFile.LoadCluster();

    [Fact]
    public void The_default_profile_runs_the_single_node_and_one_process_of_each_service()
    {
        var single = ComposeFile.Load();
        Assert.Contains("rabbitmq", single.Services.Keys);
        Assert.DoesNotContain(single.Services.Keys, name => Nodes.Contains(name) || name == "postgres" || name.EndsWith("-1", StringComparison.Ordinal));
        Assert.All(single.Services.Values, s => Assert.DoesNotContain(s.Environment.Keys, k => k.StartsWith("Broker__", StringComparison.Ordinal) || k.StartsWith("Storage__", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_cluster_profile_runs_three_broker_nodes_that_form_one_cluster_instead_of_the_single_node()
    {
        Assert.DoesNotContain("rabbitmq", _cluster.Services.Keys);
        var nodes = Nodes.Select(n => _cluster.Services.GetValueOrDefault(n)).ToList();
        Assert.All(nodes, Assert.NotNull);
        Assert.Single(nodes.Select(n => n!.Image).Distinct());
        foreach (var node in nodes.OfType<ComposeService>())
        {
            // The node's name is rabbit@<hostname>: fixed, or the node would lose its data with its container.
            Assert.Equal(node.Name, node.Hostname);
            // One Erlang cookie for all, from the fleet-keys step.
            Assert.Contains(node.Volumes, v => v.Source == "broker-cookie" && v.ReadOnly);
            Assert.Equal(node.Environment["BROKER_ERLANG_COOKIE_FILE"], $"{node.Volumes.Single(v => v.Source == "broker-cookie").Target}/.erlang.cookie");
            Assert.Equal(Path.GetFullPath(Path.Combine(Repository.Root, BrokerDefinitions.ClusterRelativePath)),
                Path.GetFullPath(Path.Combine(_cluster.Directory, node.Volumes.Single(v => v.Target == "/etc/rabbitmq/decommission/definitions.json").Source)));
            Assert.Equal(1, node.Volumes.Count(v => _cluster.NamedVolumes.Contains(v.Source) && v.Target == "/var/lib/rabbitmq"));
        }
        Assert.Equal(3, nodes.Select(n => n!.Volumes.Single(v => v.Target == "/var/lib/rabbitmq").Source).Distinct().Count());

        // The first forms the cluster; the others join it by name once it is healthy.
        Assert.DoesNotContain(nodes[0]!.Volumes, v => v.Target.Contains("cluster", StringComparison.Ordinal));
        foreach (var joining in nodes.Skip(1).OfType<ComposeService>())
        {
            var join = joining.Volumes.Single(v => v.Target.StartsWith("/etc/rabbitmq/conf.d/", StringComparison.Ordinal) && v.Source.Contains("cluster", StringComparison.Ordinal));
            var settings = File.ReadLines(Path.Combine(_cluster.Directory, join.Source)).Where(l => l.Contains('=') && !l.TrimStart().StartsWith('#'))
                .ToDictionary(l => l.Split('=', 2)[0].Trim(), l => l.Split('=', 2)[1].Trim());
            Assert.Equal("classic_config", settings["cluster_formation.peer_discovery_backend"]);
            Assert.Equal("rabbit@rabbitmq-1", settings["cluster_formation.classic_config.nodes.1"]);
            Assert.Equal("service_healthy", joining.DependsOn.GetValueOrDefault("rabbitmq-1"));
        }
    }

    [Fact]
    public void The_committed_cluster_definitions_are_the_catalogues_with_quorum_queues_and_mirrored_device_sessions()
    {
        var committed = File.ReadAllText(Path.Combine(Repository.Root, BrokerDefinitions.ClusterRelativePath)).ReplaceLineEndings("\n");
        Assert.True(committed == BrokerDefinitions.Json(cluster: true),
            $"{BrokerDefinitions.ClusterRelativePath} is stale: dotnet run --project contracts/Decommission.Topology -- definitions --cluster > {BrokerDefinitions.ClusterRelativePath}");
        using var definitions = JsonDocument.Parse(committed);
        var queues = definitions.RootElement.GetProperty("queues").EnumerateArray().ToList();
        Assert.NotEmpty(queues);
        Assert.All(queues, q => Assert.Equal("quorum", q.GetProperty("arguments").GetProperty("x-queue-type").GetString()));
        var sessions = definitions.RootElement.GetProperty("policies").EnumerateArray().Single().GetProperty("definition");
        Assert.Equal("all", sessions.GetProperty("ha-mode").GetString());
        Assert.Equal(1, sessions.GetProperty("max-length").GetInt32());
    }

    [Theory]
    [MemberData(nameof(ServiceHost.Names), MemberType = typeof(ServiceHost))]
    public void Every_service_runs_twice_against_every_node_with_quorum_queues_and_PostgreSQL(string name)
    {
        var host = ServiceHost.Named(name);
        var replicas = _cluster.Services.Values.Where(s => s.BuildArgs.GetValueOrDefault("SERVICE") == host.ServicesRelativeDirectory).ToList();
        Assert.Equal(2, replicas.Count);
        var postgres = _cluster.Services.GetValueOrDefault("postgres");
        Assert.NotNull(postgres);
        foreach (var replica in replicas)
        {
            var nodes = replica.Environment["Broker__Nodes"].Split(',').ToList();
            Assert.Equal(Nodes.Select(n => $"{n}:5671"), nodes);
            Assert.Equal("true", replica.Environment["Broker__QuorumQueues"]);
            var bus = new Uri(replica.Environment["Bus__RabbitMqUri"]);
            Assert.Contains(bus.Host, Nodes);
            // Its own catalogue user, as the single node's service.
            Assert.Equal(BusCatalogue.Services.Single(p => replica.Name.StartsWith(p.Name + "-", StringComparison.Ordinal)).Name, bus.UserInfo.Split(':')[0]);
            var store = replica.Environment["Storage__Postgres"];
            Assert.Contains("Host=postgres;", store, StringComparison.Ordinal);
            Assert.Contains($"Password={ComposeFile.ClusterVariables["POSTGRES_PASSWORD"]};", store, StringComparison.Ordinal);
            Assert.Equal(postgres.Environment["POSTGRES_PASSWORD"], ComposeFile.ClusterVariables["POSTGRES_PASSWORD"]);
            Assert.All(Nodes, n => Assert.Equal("service_healthy", replica.DependsOn.GetValueOrDefault(n)));
            Assert.Equal("service_healthy", replica.DependsOn.GetValueOrDefault("postgres"));
        }
        // Each replica its own data volume.
        Assert.Equal(2, replicas.Select(r => r.Volumes.Single(v => v.Target == "/data").Source).Distinct().Count());
    }

    [Fact]
    public void Replicas_share_the_keys_made_once_by_the_fleet_keys_step()
    {
        var keys = _cluster.Services["fleet-keys"];
        (string Service, string Setting, string Volume)[] shared =
        [
            ("device-gateway", "DeviceGateway__SigningKeyPath", "gateway-key"),
            ("certificates", "Certificates__SigningPfxPath", "signing-key"),
            ("credentials", "Credentials__CaPfxPath", "fleet-ca-key"),
        ];
        foreach (var (service, setting, volume) in shared)
        {
            var replicas = _cluster.Services.Values.Where(s => s.Name.StartsWith(service + "-", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, replicas.Count);
            Assert.Single(replicas.Select(r => r.Environment[setting]).Distinct());
            foreach (var replica in replicas)
            {
                var path = replica.Environment[setting];
                Assert.Contains(replica.Volumes, v => v.Source == volume && path.StartsWith(v.Target + "/", StringComparison.Ordinal));
            }
            // Made by a one-shot step before any replica starts.
            var maker = volume == "fleet-ca-key" ? _cluster.Services["pki"] : keys;
            Assert.Contains(maker.Volumes, v => v.Source == volume);
            if (maker == keys)
                Assert.All(replicas, r => Assert.Equal("service_completed_successfully", r.DependsOn.GetValueOrDefault("fleet-keys")));
        }
        Assert.Equal(ComposeFile.ClusterVariables["SIGNING_PFX_PASSWORD"], keys.Environment["SIGNING_PFX_PASSWORD"]);
    }
}
