using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.ComponentModel.DataAnnotations;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Decommission.DeviceAgent.Tests;

public sealed partial class DeviceFleetTests : IDisposable
{
    private readonly GatewayKey gateway = new();
    private readonly string provisioning = Directory.CreateTempSubdirectory("decom-provisioning-").FullName;
    private readonly string work = Directory.CreateTempSubdirectory("decom-agent-data-").FullName;

    /// <summary>The agent's data directory: made by the fleet, owner-only.</summary>
    private string Data => Path.Combine(work, "devices");

    public void Dispose()
    {
        gateway.Dispose();
        Directory.Delete(provisioning, recursive: true);
        Directory.Delete(work, recursive: true);
    }

    [Fact]
    public async Task Fleet_is_built_from_a_count_and_a_behaviour_mix_with_the_rest_healthy()
    {
        var options = Options(o =>
        {
            o.DeviceCount = 10;
            o.Mix = new() { [DeviceBehaviour.Slow] = 2, [DeviceBehaviour.OfflineUntil] = 1 };
        });
        var devices = options.ResolveDevices(GatewayKey.Now);

        await using var fleet = DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance);

        Assert.Equal(devices.Select(d => d.Id).Order(), fleet.AttestationPublicKeys.Keys.Order());
        Assert.Equal(["sim-00001", "sim-00002"], devices.Where(d => d.Behaviour == DeviceBehaviour.Slow).Select(d => d.Id));
        Assert.Equal(TimeSpan.FromSeconds(2), devices[0].Delay);
        Assert.NotNull(devices[2].OfflineUntil);
        Assert.Equal(7, devices.Count(d => d.Behaviour == DeviceBehaviour.Healthy));
        Assert.Empty(fleet.Devices);
    }

    [Fact]
    public async Task A_device_comes_online_with_its_bundle_and_trusts_the_command_signing_key_in_it()
    {
        var options = Options(o => o.Devices = [new DeviceSpec { Id = "meter-7", Behaviour = DeviceBehaviour.Healthy }]);
        await using var fleet = DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance);
        using var ca = TestCa();
        WriteBundle("meter-7", Certificate(ca, "meter-7", fleet.AttestationPublicKeys["meter-7"]));

        // No broker listens at the bundle's address: the device is provisioned all the same, and keeps trying to connect.
        await fleet.StartAsync(CancellationToken.None);
        var receipt = fleet.Devices["meter-7"].Handle(gateway.Command("meter-7"), GatewayKey.Now);

        Assert.NotNull(receipt);
        Assert.True(fleet.Devices["meter-7"].IsErased);
        Assert.False(fleet.IsConnected("meter-7"));
    }

    [Fact]
    public async Task A_bundle_whose_certificate_is_over_another_key_leaves_the_device_offline()
    {
        var options = Options(o => o.Devices = [new DeviceSpec { Id = "meter-8" }]);
        await using var fleet = DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance);
        using var ca = TestCa();
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        WriteBundle("meter-8", Certificate(ca, "meter-8", other.ExportSubjectPublicKeyInfo()));

        await fleet.StartAsync(CancellationToken.None);

        Assert.Empty(fleet.Devices);
    }

    [Fact]
    public async Task Attestation_keys_csv_is_an_enrollment_csv_of_every_device_with_its_public_key()
    {
        var options = Options(o => o.DeviceCount = 3);
        await using var fleet = DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance);
        var csv = new StringWriter();

        await fleet.WriteAttestationKeysCsvAsync(csv, "floor-b");

        var lines = csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("deviceId,attestationPublicKey,networkSegment", lines[0]);
        Assert.Equal(3, lines.Length - 1);
        foreach (var columns in lines.Skip(1).Select(line => line.Split(',')))
        {
            Assert.Equal(fleet.AttestationPublicKeys[columns[0]], Convert.FromBase64String(columns[1]));
            Assert.Equal("floor-b", columns[2]);
        }
    }

    [Fact]
    public void Generated_devices_get_their_behaviours_in_declaration_order_whatever_the_configuration_order()
    {
        var options = Options(o =>
        {
            o.DeviceCount = 5;
            o.Mix = new() { [DeviceBehaviour.NeverAnswers] = 1, [DeviceBehaviour.Slow] = 2 };
        });

        var devices = options.ResolveDevices(GatewayKey.Now);

        Assert.Equal(
            [DeviceBehaviour.Slow, DeviceBehaviour.Slow, DeviceBehaviour.NeverAnswers, DeviceBehaviour.Healthy, DeviceBehaviour.Healthy],
            devices.Select(d => d.Behaviour));
        Assert.Equal("sim-00001", devices[0].Id);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(20)]
    [InlineData(500)]
    public void The_agents_default_mix_makes_a_fleet_of_any_size(int count)
    {
        // The agent's own appsettings.json (its mix asks for 21 devices), with the count ops/up.sh --fleet N gives.
        var options = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Decommission.Testing.ExternalTool.RepositoryRoot, "services", "Decommission.DeviceAgent", "appsettings.json"))
            .AddInMemoryCollection(new Dictionary<string, string?> { ["DeviceAgent:DeviceCount"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            .Build().GetSection(DeviceFleetOptions.Section).Get<DeviceFleetOptions>()!;
        var asked = options.Mix.Values.Sum();

        Assert.True(Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true));
        var devices = options.ResolveDevices(GatewayKey.Now);

        Assert.Equal(count, devices.Count);
        Assert.Equal(count, devices.Select(d => d.Id).Distinct().Count());
        foreach (var (behaviour, wanted) in options.Mix)
        {
            // As asked when the fleet holds the whole mix; scaled down in proportion (rounded down) when it does not.
            var expected = count >= asked ? wanted : wanted * count / asked;
            Assert.Equal(expected, devices.Count(d => d.Behaviour == behaviour));
        }
        if (count == 3)
            Assert.Equal([DeviceBehaviour.Slow, DeviceBehaviour.Healthy, DeviceBehaviour.Healthy], devices.Select(d => d.Behaviour));
    }

    [Theory]
    [InlineData("dev.#")]
    [InlineData("dev.1")]
    [InlineData("dev,1")]
    [InlineData("")]
    public void Device_id_that_would_break_routing_or_the_csv_is_refused(string id)
    {
        var options = Options(o => o.Devices = [new DeviceSpec { Id = id }]);

        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), [], validateAllProperties: true));
    }

    private DeviceFleetOptions Options(Action<DeviceFleetOptions> configure)
    {
        var options = new DeviceFleetOptions { ProvisioningDirectory = provisioning, DataDirectory = Data };
        configure(options);
        return options;
    }

    private void WriteBundle(string deviceId, X509Certificate2 identity) =>
        File.WriteAllText(Path.Combine(provisioning, ProvisioningBundle.FileName(deviceId)), new ProvisioningBundle
        {
            DeviceId = deviceId,
            IdentityCertificate = identity.ExportCertificatePem(),
            BrokerCaCertificate = identity.ExportCertificatePem(),
            CommandSigningKeys = [new CommandSigningPublicKey { KeyId = ProtocolSigning.KeyId(gateway.PublicKey), PublicKey = Convert.ToBase64String(gateway.PublicKey) }],
            // Nothing listens on port 1.
            Mqtt = MqttEndpoint.For(deviceId, ["127.0.0.1:1"]),
        }.ToJson());

    private static X509Certificate2 TestCa()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=test fleet CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 Certificate(X509Certificate2 ca, string deviceId, byte[] publicKey)
    {
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(publicKey, out _);
        var request = new CertificateRequest($"CN={deviceId}", key, HashAlgorithmName.SHA256);
        // Within the CA's validity, which X.509 keeps to the second.
        return request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3]);
    }
}
