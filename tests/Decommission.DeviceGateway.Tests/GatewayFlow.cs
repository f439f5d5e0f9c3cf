using System.Security.Cryptography;
using Dapper;
using Decommission.Certificates;
using Decommission.Contracts;
using Decommission.Credentials;
using Decommission.DeviceAgent;
using Decommission.Inventory;
using Decommission.Storage;
using Decommission.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Decommission.DeviceGateway.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RabbitMqCollection
{
    public const string Name = "RabbitMQ";
}

/// <summary>
/// Every service for real (orchestrator, inventory, credentials, device gateway, certificates) on the RabbitMQ node
/// ops/test.sh starts, with a simulated fleet that really erases. By default the gateway runs in the one host with the
/// others, on SQLite; with <see cref="GatewayReplicas"/> it runs as that many replicas, each a host of its own, sharing one
/// PostgreSQL database (<c>Storage:Postgres</c>) and one command-signing key, consuming the same queues.
/// </summary>
public abstract class GatewayFlow : IAsyncLifetime
{
    protected readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
    protected readonly string _run = Guid.NewGuid().ToString("N")[..8];
    protected readonly Dictionary<string, DeviceEnrolled> _secrets = [];
    protected readonly DeviceChannelNode _node = new();
    protected OrchestratorHost _host = null!;
    private readonly List<ServiceUnderTest> _gateways = [];

    /// <summary>0: the gateway in the all-in-one host on SQLite; more: replicas of their own on one PostgreSQL database.</summary>
    protected virtual int GatewayReplicas => 0;

    /// <summary>The gateway replicas' hosts (none when the gateway runs in <see cref="_host"/>).</summary>
    protected IReadOnlyList<ServiceUnderTest> Gateways => _gateways;

    /// <summary>The (first) gateway's services: its database, its receipt processor.</summary>
    protected IServiceProvider Gateway => _gateways.Count > 0 ? _gateways[0].Services : _host.Services;

    protected string Provisioning => Path.Combine(_dataDirectory, "provisioning");

    private string SigningKeyPath => Path.Combine(_dataDirectory, "command-signing.key.pem");

    private Dictionary<string, string?> GatewaySettings() => new()
    {
        ["DeviceGateway:DatabasePath"] = Path.Combine(_dataDirectory, "device-gateway.db"),
        ["DeviceGateway:SigningKeyPath"] = SigningKeyPath,
        // The device channel over AMQPS in the devices' virtual host, with this assembly's own receipt queue.
        ["DeviceGateway:DeviceBrokerUri"] = _node.GatewayUri.ToString(),
        ["DeviceGateway:DeviceBrokerCaCertificatePath"] = _node.BrokerCaPath,
        ["DeviceGateway:DeviceReceiptQueue"] = DeviceChannelNode.ReceiptQueue,
        ["DeviceGateway:FleetCaCertificatePath"] = Path.Combine(_dataDirectory, "ca", "fleet-ca.pem"),
    };

    public async Task InitializeAsync()
    {
        if (GatewayReplicas > 0)
        {
            // Replicas are given one signing key, made once beforehand as an operator would: none makes its own.
            using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                OwnerOnlyFile.Write(SigningKeyPath, key.ExportPkcs8PrivateKeyPem());
            var database = await PostgresServer.NewDatabaseAsync();
            for (var i = 0; i < GatewayReplicas; i++)
                _gateways.Add(await ServiceUnderTest.StartAsync(new ServiceUnderTestOptions
                {
                    Bus = TestBus.RabbitMq,
                    AddService = builder => builder.AddDeviceGatewayService(),
                    Settings = _ => new Dictionary<string, string?>(GatewaySettings()) { ["Storage:Postgres"] = database },
                }));
        }

        var settings = new Dictionary<string, string?>
        {
            ["Credentials:DatabasePath"] = Path.Combine(_dataDirectory, "credentials.db"),
            ["Credentials:DataDirectory"] = _dataDirectory,
            ["Credentials:KdfIterations"] = "1000",
            ["Certificates:DatabasePath"] = Path.Combine(_dataDirectory, "certificates.db"),
            ["Inventory:DatabasePath"] = Path.Combine(_dataDirectory, "inventory.db"),
            ["Inventory:EndOfLifeScanInterval"] = "00:00:00",
            ["Certificates:DataDirectory"] = _dataDirectory,
            ["Certificates:FleetCaCertificatePath"] = Path.Combine(_dataDirectory, "ca", "fleet-ca.pem"),
            ["Certificates:CommandSigningPublicKeyPath"] = Path.Combine(_dataDirectory, "command-signing.pub.pem"),
            // Attempts are over after 1 s; the command waits for an offline device until it expires after 8 s.
            ["Retirement:EraseAttempts"] = "2",
            ["Retirement:EraseAttemptTimeout"] = "00:00:00.500",
            ["Retirement:EraseBackoffMultiplier"] = "1",
            ["Retirement:EraseDeadline"] = "00:00:08",
        };
        if (GatewayReplicas == 0)
            foreach (var (name, value) in GatewaySettings())
                settings[name] = value;
        _host = await OrchestratorHost.StartOnRabbitMqAsync(_ => { }, settings, builder =>
        {
            builder.AddCredentialsService();
            if (GatewayReplicas == 0)
                builder.AddDeviceGatewayService();
            builder.AddCertificatesService();
            builder.AddInventoryService();
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        foreach (var gateway in _gateways)
            await gateway.DisposeAsync();
        if (Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }

    protected Task<DeviceFleet> StartFleet(params DeviceSpec[] specs) => EnrollFleet(connect: true, specs);

    /// <summary>The devices in the inventory, enrolled, and provisioned (identity certificate, broker user, bundle);
    /// <paramref name="connect"/>: also online on the device channel.</summary>
    protected async Task<DeviceFleet> EnrollFleet(bool connect, params DeviceSpec[] specs)
    {
        var fleet = new DeviceFleet(Provisioning, specs, TimeProvider.System, NullLoggerFactory.Instance, TimeSpan.FromMilliseconds(100));
        await Enroll(fleet.AttestationPublicKeys);
        if (connect)
            await fleet.StartAsync(CancellationToken.None);
        return fleet;
    }

    /// <summary>Devices (id → attestation public key) in the inventory, enrolled, and provisioned: identity certificate, broker
    /// user, and bundle in <see cref="Provisioning"/>.</summary>
    protected async Task Enroll(IReadOnlyDictionary<string, byte[]> keys)
    {
        using var gatewayKey = ECDsa.Create();
        gatewayKey.ImportFromPem(await File.ReadAllTextAsync(Path.Combine(_dataDirectory, "command-signing.pub.pem")));

        // The devices are in the inventory...
        var csv = "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n" + string.Join("\n",
            keys.Keys.Select(id => $"{id},Acme,TH-200,SN-{id},A-{id},eMMC 8 GB,Plant ops,Lyon plant,floor,"));
        var imported = await _host.Bus.CreateRequestClient<ImportDevices>(new Uri($"queue:{QueueNames.Inventory}"))
            .GetResponse<DevicesImported>(new ImportDevices { Csv = csv, RequestedBy = "test" });
        Assert.Empty(imported.Message.Problems);

        // ... and enrolled with the credentials service, which registers each attestation key with the gateway (which makes
        // the device's session queue then).
        var client = _host.Bus.CreateRequestClient<EnrollDevice>(new Uri($"queue:{QueueNames.EnrollDevice}"));
        foreach (var (id, key) in keys)
        {
            var enrolled = await client.GetResponse<DeviceEnrolled>(new EnrollDevice
            {
                DeviceId = id, AttestationPublicKey = Convert.ToBase64String(key), NetworkSegment = "floor", RequestedBy = "test",
            });
            _secrets[id] = enrolled.Message;
        }
        await WaitForAttestationKeys(keys.Keys);
        // Their TLS identity certificates come from the test fleet CA the broker trusts (the credentials service's CA here is
        // its own, made for this run), over the same attestation keys.
        await _node.ProvisionAsync(Provisioning, keys, gatewayKey.ExportSubjectPublicKeyInfo());
    }

    private async Task WaitForAttestationKeys(IEnumerable<string> deviceIds)
    {
        var database = Gateway.GetRequiredService<GatewayDatabase>();
        foreach (var id in deviceIds)
        {
            await using var connection = await database.OpenAsync();
            await Eventually.True(async () => await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM attestation_keys WHERE device_id = @Id;", new { Id = id }) > 0,
                $"the gateway to get {id}'s attestation key");
        }
    }
}
