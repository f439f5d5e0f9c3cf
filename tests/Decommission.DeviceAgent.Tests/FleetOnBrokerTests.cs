using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Decommission.DeviceProtocol;
using Decommission.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace Decommission.DeviceAgent.Tests;

/// <summary>The fleet on the real RabbitMQ node ops/test.sh starts: MQTT over TLS, each device with its own certificate.</summary>
public sealed class FleetOnBrokerTests(ITestOutputHelper output) : IDisposable
{
    private readonly GatewayKey _gateway = new();
    private readonly DeviceChannelNode _node = new();
    private readonly string _provisioning = Directory.CreateTempSubdirectory("decom-provisioning-").FullName;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public void Dispose()
    {
        _gateway.Dispose();
        Directory.Delete(_provisioning, recursive: true);
    }

    [Fact]
    public async Task Every_device_of_a_fleet_connects_on_its_own_TLS_connection_with_its_own_certificate()
    {
        // DECOM_TEST_FLEET_SIZE=1000 measures a larger fleet (docs/device-protocol.md reports it).
        var size = int.Parse(Environment.GetEnvironmentVariable("DECOM_TEST_FLEET_SIZE") ?? "200", CultureInfo.InvariantCulture);
        await using var fleet = Fleet(Enumerable.Range(1, size).Select(i => new DeviceSpec { Id = $"fleet-{_run}-{i:D5}" }).ToArray());
        var provisioned = Stopwatch.StartNew();
        await _node.ProvisionAsync(_provisioning, fleet.AttestationPublicKeys, _gateway.PublicKey);
        output.WriteLine($"{size} devices provisioned (certificates, broker users, bundles) in {provisioned.Elapsed.TotalSeconds:F1} s");

        var connecting = Stopwatch.StartNew();
        await fleet.StartAsync(CancellationToken.None);
        await Eventually.True(() => fleet.ConnectedCount == size, $"all {size} devices connected", TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(50));
        output.WriteLine($"{size} devices connected over MQTT+TLS in {connecting.Elapsed.TotalSeconds:F1} s");

        // Each has subscribed on its persistent session: its session queue exists, durable, with the device consuming it.
        await using var connection = await new ConnectionFactory { Uri = _node.AdminUri }.CreateConnectionAsync();
        foreach (var id in fleet.AttestationPublicKeys.Keys.Where((_, i) => i % 50 == 0))
        {
            await using var channel = await connection.CreateChannelAsync();
            Assert.Equal(1u, (await channel.QueueDeclarePassiveAsync(DeviceTopics.SessionQueue(id))).ConsumerCount);
        }
    }

    [Fact]
    public async Task A_device_without_its_bundle_stays_offline_until_the_bundle_appears()
    {
        var id = $"late-{_run}";
        await using var fleet = Fleet(new DeviceSpec { Id = id });
        await _node.AddDevicesAsync([id]);
        await fleet.StartAsync(CancellationToken.None);

        await Task.Delay(TimeSpan.FromMilliseconds(600));
        Assert.False(fleet.IsConnected(id));
        Assert.Empty(fleet.Devices);

        DeviceChannelNode.WriteBundle(_provisioning, _node.Bundle(id, fleet.AttestationPublicKeys[id], _gateway.PublicKey));
        await Eventually.True(() => fleet.IsConnected(id), $"{id} to connect once its bundle appeared");
    }

    [Fact]
    public async Task A_device_the_broker_drops_reconnects_and_gets_what_came_meanwhile()
    {
        var id = $"dropped-{_run}";
        await using var fleet = Fleet(new DeviceSpec { Id = id });
        await _node.ProvisionAsync(_provisioning, fleet.AttestationPublicKeys, _gateway.PublicKey);
        await fleet.StartAsync(CancellationToken.None);
        Assert.True(fleet.IsConnected(id));

        // rabbitmqctl closes it asynchronously, and only once the broker's connection tracking lists it (which follows the
        // connection by a moment); on a loaded machine the client notices late. Asked again every 5 s until it is dropped.
        await Eventually.True(async () =>
        {
            await _node.DisconnectDeviceAsync(id);
            try
            {
                await Eventually.True(() => !fleet.IsConnected(id), $"the broker to drop {id}", TimeSpan.FromSeconds(5));
                return true;
            }
            catch (Xunit.Sdk.XunitException)
            {
                return false;
            }
        }, $"the broker to drop {id}", TimeSpan.FromSeconds(60), TimeSpan.Zero);
        await using var connection = await new ConnectionFactory { Uri = _node.AdminUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.BasicPublishAsync(DeviceChannelNames.TopicExchange, DeviceChannelNames.CommandRoutingKey(id),
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(_gateway.Command(id)));

        await Eventually.True(() => fleet.IsConnected(id) && fleet.Devices[id].CommandsReceived == 1, $"{id} back, with the command sent while it was away");
    }

    [Fact]
    public async Task A_device_may_publish_on_its_own_receipt_topic_and_the_broker_refuses_it_another_devices()
    {
        var (mine, victim) = ($"own-{_run}", $"victim-{_run}");
        await _node.AddDevicesAsync([mine, victim]);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = ClientCertificate(mine, key);
        await using var connection = await new ConnectionFactory { Uri = _node.AdminUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var watch = (await channel.QueueDeclareAsync($"watch-{_run}", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.QueueBindAsync(watch, DeviceChannelNames.TopicExchange, DeviceTopics.RoutingKey(DeviceTopics.Receipts(victim)));
        await channel.QueueBindAsync(watch, DeviceChannelNames.TopicExchange, DeviceTopics.RoutingKey(DeviceTopics.Receipts(mine)));

        using (var client = await ConnectAsync(mine, certificate))
            await client.PublishAsync(Message(DeviceTopics.Receipts(mine), "mine"));
        using (var client = await ConnectAsync(mine, certificate))
            // RabbitMQ 3.10 answers a refused publish by closing the connection: no PUBACK ever comes.
            await Assert.ThrowsAnyAsync<Exception>(() => client.PublishAsync(Message(DeviceTopics.Receipts(victim), "forged")));

        var got = await Eventually.Get<BasicGetResult?>(async () => await channel.BasicGetAsync(watch, autoAck: true), m => m is not null, "the device's own receipt");
        Assert.Equal("mine", Encoding.UTF8.GetString(got!.Body.Span));
        await Task.Delay(300);
        Assert.Null(await channel.BasicGetAsync(watch, autoAck: true));
    }

    private DeviceFleet Fleet(params DeviceSpec[] specs) =>
        new(_provisioning, specs, TimeProvider.System, NullLoggerFactory.Instance, TimeSpan.FromMilliseconds(100));

    private X509Certificate2 ClientCertificate(string deviceId, ECDsa key)
    {
        using var identity = X509Certificate2.CreateFromPem(_node.IssueIdentityCertificate(deviceId, key.ExportSubjectPublicKeyInfo()));
        using var withKey = identity.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    private async Task<IMqttClient> ConnectAsync(string deviceId, X509Certificate2 certificate)
    {
        using var brokerCa = X509CertificateLoader.LoadCertificateFromFile(_node.BrokerCaPath);
        var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", _node.MqttsPort)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithClientId(deviceId)
            .WithTimeout(TimeSpan.FromSeconds(5))
            .WithTlsOptions(tls => tls.UseTls().WithClientCertificates([certificate]).WithTrustChain([brokerCa]))
            .Build());
        return client;
    }

    private static MqttApplicationMessage Message(string topic, string payload) => new MqttApplicationMessageBuilder()
        .WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
}
