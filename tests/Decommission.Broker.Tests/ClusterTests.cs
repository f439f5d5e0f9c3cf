using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Decommission.ServiceDefaults;
using Decommission.Testing;
using Decommission.Topology;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Xunit.Abstractions;

namespace Decommission.Broker.Tests;

/// <summary>
/// The broker of ops/up.sh --cluster: three nodes that form one cluster, the services' queues as quorum queues (the broker's
/// set-up and MassTransit's own endpoints), and a client given every node that keeps receiving when the node it was on is
/// killed with kill -9.
/// </summary>
public sealed class ClusterTests(BrokerCluster cluster, ITestOutputHelper output) : IClassFixture<BrokerCluster>
{
    [Fact]
    public async Task Three_nodes_form_one_cluster()
    {
        output.WriteLine($"cluster formed in {cluster.FormedIn.TotalSeconds:0.0} s");
        Assert.Equal(BrokerCluster.Size, cluster.Nodes.Count);
        Assert.All(cluster.Nodes, node => Assert.NotNull(node.BeamPid));
        // Every node is a member, and every node still running runs in the cluster (the failover test kills one; the first
        // node, which formed the cluster, it leaves alone).
        var json = await cluster.OnClusterAsync("rmq_ctl cluster_status --formatter json </dev/null");
        using var status = System.Text.Json.JsonDocument.Parse(json);
        var members = status.RootElement.GetProperty("disk_nodes").EnumerateArray().Select(n => n.GetString()!).ToHashSet();
        var running = status.RootElement.GetProperty("running_nodes").EnumerateArray().Select(n => n.GetString()!).ToHashSet();
        Assert.Equal(cluster.Nodes.Select(n => n.Name).ToHashSet(), members);
        var alive = (await cluster.DescribeAsync()).Where(n => n.BeamPid is not null).Select(n => n.Name).ToHashSet();
        Assert.Equal(alive, running);
    }

    [Fact]
    public async Task The_services_queues_and_their_error_queues_are_quorum_queues()
    {
        var vhost = $"quorum-{Guid.NewGuid():N}"[..16];
        await AddVirtualHostAsync(vhost);
        var admin = new Uri($"amqp://guest:guest@127.0.0.1:{cluster.Nodes[0].AmqpPort}/{vhost}");

        // The broker's set-up, as ops/up.sh --cluster runs it (Decommission.Topology declare URI --quorum).
        await BrokerTopology.DeclareAsync(admin, quorum: true);

        // A service's endpoint, configured as every service's is (AddMessageBus) with Broker:QuorumQueues; its consumer fails,
        // so MassTransit moves the message to the endpoint's _error queue, which it declares then.
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Bus:Transport"] = "RabbitMq",
            ["Bus:RabbitMqUri"] = admin.ToString(),
            ["Bus:VerifySenders"] = "false",
            ["Broker:Nodes"] = cluster.NodeList(tls: false),
            ["Broker:QuorumQueues"] = "true",
        });
        builder.Services.AddSingleton(failed);
        builder.AddBusRegistration(bus => bus.AddConsumer<FailingProbeConsumer>().Endpoint(e => e.Name = ProbeQueue));
        builder.AddMessageBus();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            await host.Services.GetRequiredService<IPublishEndpoint>().Publish(new ClusterProbe("fails"));
            await failed.Task.WaitAsync(TimeSpan.FromSeconds(20));
            var types = await Eventually.Get(() => QueueTypesAsync(vhost), t => t.ContainsKey($"{ProbeQueue}_error"),
                $"{ProbeQueue}_error declared", TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(500),
                t => string.Join(", ", t.Select(kv => $"{kv.Key}={kv.Value}")));

            var services = BrokerTopology.Queues.Select(q => q.Name).Append(ProbeQueue).Append($"{ProbeQueue}_error").ToList();
            var classic = services.Where(q => types.GetValueOrDefault(q) != "quorum").Select(q => $"{q}={types.GetValueOrDefault(q) ?? "missing"}").ToList();
            Assert.True(classic.Count == 0, $"not quorum queues: {string.Join(", ", classic)}");
        }
        finally
        {
            await host.StopAsync();
            await ManageAsync(HttpMethod.Delete, $"/api/vhosts/{Uri.EscapeDataString(vhost)}");
        }
    }

    /// <summary>One kill for both (a second would leave the cluster without a majority for the other tests): an AMQP consumer
    /// given every node, and a device's persistent MQTT session with a command waiting in it, both on the node killed.</summary>
    [Fact]
    public async Task A_consumer_given_every_node_and_a_device_session_outlive_the_node_they_were_on()
    {
        const string queue = "cluster-failover-probe";
        var factory = Factory();
        // The consumer is given every node but the first (which the other tests talk to) and takes one of them; the publisher
        // is given only the nodes left: the kill cuts the consumer off alone.
        var consumerEndpoints = BrokerClusterOptions.Endpoints(factory, cluster.Nodes.Where(n => n.Number != 1).Select(n => $"127.0.0.1:{n.AmqpsPort}").ToList());
        await using var consumerConnection = await factory.CreateConnectionAsync(consumerEndpoints, "failover-consumer");
        var victim = cluster.Nodes.Single(n => n.AmqpsPort == consumerConnection.Endpoint.Port);
        var publisherEndpoints = BrokerClusterOptions.Endpoints(factory, cluster.Nodes.Where(n => n != victim).Select(n => $"127.0.0.1:{n.AmqpsPort}").ToList());
        await using var publisherConnection = await factory.CreateConnectionAsync(publisherEndpoints, "failover-publisher");

        // A quorum queue declared through the victim: its leader is there, so the kill also moves the queue's leadership.
        await using var consumerChannel = await consumerConnection.CreateChannelAsync();
        await consumerChannel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, BrokerTopology.QueueArguments(quorum: true));
        await consumerChannel.BasicQosAsync(0, 50, false);
        var received = new ConcurrentDictionary<int, int>();
        var consumer = new AsyncEventingBasicConsumer(consumerChannel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            received.AddOrUpdate(int.Parse(Encoding.ASCII.GetString(delivery.Body.Span), System.Globalization.CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
            await consumerChannel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        };
        await consumerChannel.BasicConsumeAsync(queue, autoAck: false, consumer);

        await using var publisher = await publisherConnection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var confirmed = new List<int>();
        async Task PublishAsync(int from, int count)
        {
            for (var i = from; i < from + count; i++)
            {
                await publisher.BasicPublishAsync("", queue, mandatory: true, new BasicProperties { Persistent = true }, Encoding.ASCII.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                confirmed.Add(i);
            }
        }

        await PublishAsync(0, 200);
        await Eventually.True(() => received.Count == 200, "the first 200 messages received before the kill", TimeSpan.FromSeconds(20));

        // A device with a persistent session on the same node, gone offline, and a command that waits for it in its session
        // queue (mirrored on every node by the devices' session policy).
        using var device = DeviceIdentity.Issue(DeviceIdentity.NewDeviceId(), cluster.FleetCa.Certificate, cluster.FleetCa.Key);
        await AddDeviceUserAsync(device.DeviceId);
        var subscribed = await MosquittoAsync(victim, device, "-E");
        Assert.Contains("received SUBACK", subscribed.Output + subscribed.Error, StringComparison.Ordinal);
        var command = $"erase-{Guid.NewGuid():N}";
        await using (var devices = await Factory("iot").CreateConnectionAsync(publisherEndpoints, "failover-commands"))
        await using (var channel = await devices.CreateChannelAsync(new CreateChannelOptions(true, true)))
            await channel.BasicPublishAsync("amq.topic", $"devices.{device.DeviceId}.commands", mandatory: true,
                new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(command));

        var killed = Stopwatch.StartNew();
        cluster.Kill(victim);
        output.WriteLine($"killed node {victim.Number} ({victim.Name}, beam pid {victim.BeamPid}), the consumer's");
        // Published while the consumer is cut off and the queue elects a new leader; each confirmed by the survivors.
        await PublishAsync(200, 300);

        var all = await Eventually.Get(() => received.Keys.Count(confirmed.Contains), n => n == confirmed.Count,
            "every confirmed message received after the consumer's node was killed", TimeSpan.FromSeconds(40), TimeSpan.FromMilliseconds(100),
            n => $"{n} of {confirmed.Count} received, consumer connected to {(consumerConnection.IsOpen ? consumerConnection.Endpoint.ToString() : "nothing")}");
        output.WriteLine($"all {all} received {killed.Elapsed.TotalSeconds:0.0} s after the kill; the consumer is on {consumerConnection.Endpoint}; " +
                         $"{received.Values.Count(n => n > 1)} delivered more than once");
        Assert.NotEqual(victim.AmqpsPort, consumerConnection.Endpoint.Port);
        var nodes = await cluster.DescribeAsync();
        Assert.Null(nodes.Single(n => n.Number == victim.Number).BeamPid);

        // The device comes back on another node (the next server of its bundle), resumes its session and gets its command.
        var resumed = await MosquittoAsync(cluster.Nodes[0], device, "-C", "1", "-W", "30");
        output.WriteLine($"device on node 1 after the kill: exit {resumed.ExitCode}; {resumed.Output.Trim()}");
        Assert.Contains("received CONNACK (0)", resumed.Output + resumed.Error, StringComparison.Ordinal);
        Assert.Contains(command, resumed.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// RabbitMQ 3.10 after a node loss: a channel that first publishes to a quorum queue while the queue's record still names
    /// the lost leader (the seconds before the new leader repairs it) is refused (nack) on every later publish to that queue,
    /// for as long as it lives; MassTransit retries on the same channel. The record's state in those seconds is made to order
    /// here (rewritten to name a node that does not exist, for five seconds, on the broker itself), so the test needs no kill
    /// and does not depend on hitting the window. A raw channel shows the broker's side; a service's bus, configured as every
    /// service's is, must reconnect and deliver.
    /// </summary>
    [Fact]
    public async Task A_publish_refused_by_a_channel_that_met_a_lost_leader_is_delivered_after_the_bus_reconnects()
    {
        const string queue = "stale-leader-probe";
        var vhost = $"stale-{Guid.NewGuid():N}"[..16];
        await AddVirtualHostAsync(vhost);
        // The other test of this class may have killed a node: only the running ones.
        var running = (await cluster.DescribeAsync()).Where(n => n.BeamPid is not null).ToList();
        var factory = Factory(vhost);
        await using var connection = await factory.CreateConnectionAsync(
            BrokerClusterOptions.Endpoints(factory, running.Select(n => $"127.0.0.1:{n.AmqpsPort}").ToList()), "stale-leader-raw");
        var exchange = $"{typeof(StaleLeaderProbe).Namespace}:{nameof(StaleLeaderProbe)}";
        await using (var setup = await connection.CreateChannelAsync())
        {
            await setup.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
            await setup.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, BrokerTopology.QueueArguments(quorum: true));
            await setup.QueueBindAsync(queue, exchange, "");
        }

        var echoes = new ConcurrentQueue<string>();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Bus:Transport"] = "RabbitMq",
            ["Bus:RabbitMqUri"] = $"amqp://guest:guest@127.0.0.1:{running[0].AmqpPort}/{vhost}",
            ["Bus:VerifySenders"] = "false",
            ["Broker:Nodes"] = string.Join(',', running.Select(n => $"127.0.0.1:{n.AmqpPort}")),
            ["Broker:QuorumQueues"] = "true",
        });
        builder.Services.AddSingleton(echoes);
        builder.AddBusRegistration(bus => bus.AddConsumer<EchoProbeConsumer>().Endpoint(e => e.Name = "stale-leader-echo"));
        builder.AddMessageBus();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            await using var raw = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
            await StaleLeaderRecordAsync(vhost, queue, TimeSpan.FromSeconds(5));

            // The broker's side: a channel's first publish to the queue while its record names a lost leader is refused.
            var refused = await Assert.ThrowsAsync<RabbitMQ.Client.Exceptions.PublishException>(() => RawPublishAsync(raw, exchange, "raw-1"));
            Assert.False(refused.IsReturn);

            // A service's publish in the same seconds: refused at first, delivered once the bus has reconnected.
            var clock = Stopwatch.StartNew();
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
                await host.Services.GetRequiredService<IBus>().Publish(new StaleLeaderProbe("from the bus"), timeout.Token);
            var recovery = host.Services.GetRequiredService<BrokerRejectionRecovery>();
            output.WriteLine($"the bus's publish went through after {clock.Elapsed.TotalSeconds:0.0} s and {recovery.Reconnects} reconnect(s)");
            Assert.True(recovery.Reconnects >= 1, "the publish went through without a refusal: the test did not make the broker refuse it");
            var declared = await Eventually.Get(async () =>
            {
                await using var check = await connection.CreateChannelAsync();
                return (await check.QueueDeclarePassiveAsync(queue)).MessageCount;
            }, n => n >= 1, "the bus's message in the queue", TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200));
            Assert.True(declared >= 1);

            // The record has been repaired by now (the leader's tick): the raw channel that met the lost leader stays refused, a
            // new one is not — what the bus's reconnect is for.
            await Assert.ThrowsAsync<RabbitMQ.Client.Exceptions.PublishException>(() => RawPublishAsync(raw, exchange, "raw-2"));
            await using (var fresh = await connection.CreateChannelAsync(new CreateChannelOptions(true, true)))
                await RawPublishAsync(fresh, exchange, "raw-3");

            // And the reconnected bus consumes again.
            await host.Services.GetRequiredService<IBus>().Publish(new ClusterEcho("after the reconnect"));
            await Eventually.True(() => echoes.Contains("after the reconnect"), "the bus consumes after its reconnect", TimeSpan.FromSeconds(30));
        }
        finally
        {
            await host.StopAsync();
            await ManageAsync(HttpMethod.Delete, $"/api/vhosts/{Uri.EscapeDataString(vhost)}");
        }
    }

    private static Task RawPublishAsync(IChannel channel, string exchange, string text) =>
        channel.BasicPublishAsync(exchange, "", mandatory: false, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(text)).AsTask();

    /// <summary>On node 1: the queue's record names its leader on a node that does not exist, rewritten every 10 ms for
    /// <paramref name="period"/> (the leader's tick repairs it within seconds after).</summary>
    private Task StaleLeaderRecordAsync(string vhost, string queue, TimeSpan period) => cluster.OnClusterAsync($$"""
        rmq_ctl eval '
          QName = rabbit_misc:r(<<"{{vhost}}">>, queue, <<"{{queue}}">>),
          {ok, Q0} = rabbit_amqqueue:lookup(QName),
          {RaName, _} = amqqueue:get_pid(Q0),
          Stale = fun () -> rabbit_misc:execute_mnesia_transaction(fun () ->
                    rabbit_amqqueue:update(QName, fun (Q) -> amqqueue:set_pid(Q, {RaName, lost@nowhere}) end) end) end,
          Stale(),
          spawn(fun () -> lists:foreach(fun (_) -> Stale(), timer:sleep(10) end, lists:seq(1, {{(int)period.TotalMilliseconds / 10}})) end),
          ok.' </dev/null
        """);

    /// <summary>The device's broker user as enrollment makes it (docs/deployment.md §7): no password, its own session queue and
    /// topics — one definitions import through the management API (each rabbitmqctl call starts an Erlang VM of its own).</summary>
    private Task AddDeviceUserAsync(string deviceId) => ManageAsync(HttpMethod.Post, "/api/definitions", new
    {
        users = new[] { new { name = deviceId, password_hash = "", tags = Array.Empty<string>() } },
        permissions = new[]
        {
            new { user = deviceId, vhost = "iot", configure = $"^mqtt-subscription-{deviceId}qos[01]$",
                write = $"^(amq\\.topic|mqtt-subscription-{deviceId}qos[01])$", read = $"^(amq\\.topic|mqtt-subscription-{deviceId}qos[01])$" },
            new { user = "guest", vhost = "iot", configure = ".*", write = ".*", read = ".*" },
        },
        topic_permissions = new[]
        {
            new { user = deviceId, vhost = "iot", exchange = "amq.topic", write = "^devices\\.{username}\\.(receipts|telemetry)$", read = "^devices\\.{username}\\.commands$" },
        },
    });

    private async Task AddVirtualHostAsync(string vhost)
    {
        await ManageAsync(HttpMethod.Put, $"/api/vhosts/{Uri.EscapeDataString(vhost)}");
        await ManageAsync(HttpMethod.Put, $"/api/permissions/{Uri.EscapeDataString(vhost)}/guest", new { configure = ".*", write = ".*", read = ".*" });
    }

    private static readonly HttpClient Management = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A management API call as guest (from loopback), to the first node that answers (a test may have killed one).</summary>
    private async Task ManageAsync(HttpMethod method, string path, object? body = null)
    {
        Exception? last = null;
        foreach (var node in cluster.Nodes)
        {
            try
            {
                using var request = new HttpRequestMessage(method, $"http://127.0.0.1:{node.ManagementPort}{path}")
                {
                    Content = body is null ? null : System.Net.Http.Json.JsonContent.Create(body),
                };
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("guest:guest"u8.ToArray()));
                using var response = await Management.SendAsync(request);
                if (response.IsSuccessStatusCode)
                    return;
                last = new InvalidOperationException($"{method} {path} on {node.Name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
            catch (HttpRequestException e)
            {
                last = e;
            }
        }
        throw last!;
    }

    /// <summary>mosquitto_sub as the device (its certificate, client id = its id, clean session off, QoS 1) on <paramref name="node"/>.</summary>
    private async Task<ChildProcess.Result> MosquittoAsync(ClusterNode node, DeviceIdentity device, params string[] extra)
    {
        var start = new ProcessStartInfo("mosquitto_sub");
        foreach (var argument in new[]
                 {
                     "-h", "127.0.0.1", "-p", node.MqttsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "-V", "mqttv311", "-d",
                     "--cafile", cluster.BrokerCaPath, "--cert", device.CertificatePath, "--key", device.KeyPath, "-i", device.DeviceId,
                     "-c", "-q", "1", "-t", $"devices/{device.DeviceId}/commands",
                 }.Concat(extra))
            start.ArgumentList.Add(argument);
        return await ChildProcess.RunAsync(start, TimeSpan.FromSeconds(60));
    }

    private const string ProbeQueue = "cluster-quorum-probe";

    private ConnectionFactory Factory(string virtualHost = "")
    {
        var factory = new ConnectionFactory
        {
            Uri = new Uri($"amqps://guest:guest@127.0.0.1:{cluster.Nodes[0].AmqpsPort}/{virtualHost}"),
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromMilliseconds(500),
        };
        factory.Ssl.CertificateValidationCallback = BrokerTls.ServerCertificateValidator(cluster.BrokerCaPath);
        return factory;
    }

    private async Task<Dictionary<string, string>> QueueTypesAsync(string vhost) =>
        (await cluster.OnClusterAsync($"rmq_ctl list_queues -q --no-table-headers -p {vhost} name type </dev/null"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t', ' '))
            .Where(f => f.Length >= 2).ToDictionary(f => f[0], f => f[^1]);

}

public sealed record ClusterProbe(string Text);

public sealed record StaleLeaderProbe(string Text);

public sealed record ClusterEcho(string Text);

public sealed class EchoProbeConsumer(ConcurrentQueue<string> echoes) : IConsumer<ClusterEcho>
{
    public Task Consume(ConsumeContext<ClusterEcho> context)
    {
        echoes.Enqueue(context.Message.Text);
        return Task.CompletedTask;
    }
}

public sealed class FailingProbeConsumer(TaskCompletionSource failed) : IConsumer<ClusterProbe>
{
    public Task Consume(ConsumeContext<ClusterProbe> context)
    {
        failed.TrySetResult();
        throw new InvalidOperationException("the probe fails on purpose: its message goes to the _error queue");
    }
}
