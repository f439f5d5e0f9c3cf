using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Contracts;
using Decommission.Credentials;
using Decommission.DeviceProtocol;
using MassTransit;

namespace Decommission.Cli.Tests;

/// <summary>decom devices enroll against the real credentials service on the RabbitMQ node ops/test.sh starts, the gateway's registration played.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class EnrollCommandTests : IAsyncLifetime
{
    private readonly string _directory = ServiceUnderTest.NewDataDirectory();
    private ServiceUnderTest _credentials = null!;
    private string _gatewayKeyId = "";

    private static string Broker => RabbitMqNode.Uri.ToString();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var gatewayPublicKey = Path.Combine(_directory, "command-signing.pub.pem");
        using (var gatewayKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(gatewayPublicKey, gatewayKey.ExportSubjectPublicKeyInfoPem());
            _gatewayKeyId = ProtocolSigning.KeyId(gatewayKey);
        }
        var brokerCa = Path.Combine(_directory, "broker-ca.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        using (var ca = new CertificateRequest("CN=Test broker CA", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1)))
            await File.WriteAllTextAsync(brokerCa, ca.ExportCertificatePem());
        _credentials = await ServiceUnderTest.StartAsync(new ServiceUnderTestOptions
        {
            Bus = TestBus.RabbitMq,
            Settings = directory => new Dictionary<string, string?>
            {
                ["Credentials:DatabasePath"] = Path.Combine(directory, "credentials.db"),
                ["Credentials:DataDirectory"] = directory,
                ["Credentials:KdfIterations"] = "1000",
                ["Credentials:Provisioning:MqttServers:0"] = "broker.example:8883",
                ["Credentials:Provisioning:BrokerCaCertificatePath"] = brokerCa,
                ["Credentials:Provisioning:CommandSigningPublicKeyPaths:0"] = gatewayPublicKey,
            },
            AddService = builder => builder.AddCredentialsService(),
            PlayedServices = bus => bus.AddHandler<RegisterDeviceIdentities>(context => context.RespondAsync(new DeviceIdentitiesRegistered
            {
                Registered = context.Message.Identities.Select(i => i.DeviceId).ToList(), Refused = [],
            })).Endpoint(e => e.Name = QueueNames.RegisterDeviceIdentities),
        });
    }

    public async Task DisposeAsync()
    {
        await _credentials.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Enrolling_a_csv_or_one_device_with_bundles_writes_each_devices_bundle()
    {
        using var first = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var second = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var third = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (a, b, c) = ($"cli-{Guid.NewGuid():N}", $"cli-{Guid.NewGuid():N}", $"cli-{Guid.NewGuid():N}");
        var csv = Path.Combine(_directory, "fleet.csv");
        await File.WriteAllLinesAsync(csv, ["deviceId,attestationPublicKey,networkSegment", $"{a},{Key(first)},plant", $"{b},{Key(second)},plant"]);
        var bundles = Path.Combine(_directory, "provisioning");

        var fleet = await Decom.Run("devices", "enroll", csv, "--bundles", bundles, "--by", "alice", "--broker", Broker);
        Assert.True(fleet.ExitCode == 0, fleet.ToString());
        Assert.Contains("Wrote 2 provisioning bundles", fleet.Out);
        var one = await Decom.Run("devices", "enroll", "--device", c, "--key", Key(third), "--segment", "plant", "--bundles", bundles, "--by", "alice", "--broker", Broker);
        Assert.True(one.ExitCode == 0, one.ToString());

        Assert.Equal(new[] { a, b, c }.Select(ProvisioningBundle.FileName).Order(), Directory.GetFiles(bundles).Select(Path.GetFileName).Order());
        foreach (var (id, key) in new[] { (a, first), (b, second), (c, third) })
        {
            var (bundle, problem) = ProvisioningBundle.Parse(await File.ReadAllTextAsync(Path.Combine(bundles, ProvisioningBundle.FileName(id))));
            Assert.True(bundle is not null, problem);
            Assert.Equal(id, bundle.DeviceId);
            using var certificate = X509Certificate2.CreateFromPem(bundle.IdentityCertificate);
            using var fleetCa = X509Certificate2.CreateFromPem(bundle.FleetCaCertificate);
            Assert.True(ChainsTo(certificate, fleetCa), $"{id}'s identity certificate does not chain to the fleet CA in its bundle");
            Assert.Equal(key.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
            Assert.Equal(_gatewayKeyId, Assert.Single(bundle.CommandSigningKeys).KeyId);
            Assert.Equal(["broker.example:8883"], bundle.Mqtt.Servers);
            Assert.Equal((id, DeviceTopics.Commands(id), DeviceTopics.Receipts(id)), (bundle.Mqtt.ClientId, bundle.Mqtt.CommandTopic, bundle.Mqtt.ReceiptTopic));
        }
    }

    [Fact]
    public async Task Neither_a_file_nor_one_device_is_a_usage_error()
    {
        var run = await Decom.Run("devices", "enroll", "--device", "x", "--by", "alice", "--broker", Broker);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--device, --key and --segment", run.Out + run.Error);
    }

    private static string Key(ECDsa key) => Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
