using System.Security.Cryptography;
using System.Text;
using Dapper;
using Decommission.Contracts;
using Decommission.Certificates;
using Decommission.Credentials;
using Decommission.Inventory;
using Decommission.DeviceAgent;
using Decommission.DeviceProtocol;
using Decommission.Orchestrator.StateMachines;
using Decommission.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RabbitMqCollection
{
    public const string Name = "RabbitMQ";
}

/// <summary>
/// Every service for real (orchestrator, inventory, credentials, device gateway, certificates) on the RabbitMQ node
/// ops/test.sh starts, with a simulated fleet that really erases. A wipe counts only when the device proves it.
/// This part: the services and the fleet; the tests are in DeviceChannelTests.*.cs by concern.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed partial class DeviceChannelTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly Dictionary<string, DeviceEnrolled> _secrets = [];
    private readonly DeviceChannelNode _node = new();
    private OrchestratorHost _host = null!;

    private string Provisioning => Path.Combine(_dataDirectory, "provisioning");

    private async Task WaitForAttestationKeys(IEnumerable<string> deviceIds)
    {
        var database = _host.Services.GetRequiredService<GatewayDatabase>();
        foreach (var id in deviceIds)
        {
            await using var connection = await database.OpenAsync();
            await Eventually.True(async () => await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM attestation_keys WHERE device_id = @Id;", new { Id = id }) > 0,
                $"the gateway to get {id}'s attestation key");
        }
    }

    public async Task InitializeAsync()
    {
        _host = await OrchestratorHost.StartOnRabbitMqAsync(_ => { }, new Dictionary<string, string?>
        {
            ["Credentials:DatabasePath"] = Path.Combine(_dataDirectory, "credentials.db"),
            ["Credentials:DataDirectory"] = _dataDirectory,
            ["Credentials:KdfIterations"] = "1000",
            ["Certificates:DatabasePath"] = Path.Combine(_dataDirectory, "certificates.db"),
            ["Inventory:DatabasePath"] = Path.Combine(_dataDirectory, "inventory.db"),
            ["Inventory:EndOfLifeScanInterval"] = "00:00:00",
            ["Certificates:DataDirectory"] = _dataDirectory,
            ["DeviceGateway:DatabasePath"] = Path.Combine(_dataDirectory, "device-gateway.db"),
            ["DeviceGateway:SigningKeyPath"] = Path.Combine(_dataDirectory, "command-signing.key.pem"),
            // The device channel over AMQPS in the devices' virtual host, with this assembly's own receipt queue.
            ["DeviceGateway:DeviceBrokerUri"] = _node.GatewayUri.ToString(),
            ["DeviceGateway:DeviceBrokerCaCertificatePath"] = _node.BrokerCaPath,
            ["DeviceGateway:DeviceReceiptQueue"] = DeviceChannelNode.ReceiptQueue,
            ["DeviceGateway:FleetCaCertificatePath"] = Path.Combine(_dataDirectory, "ca", "fleet-ca.pem"),
            ["Certificates:FleetCaCertificatePath"] = Path.Combine(_dataDirectory, "ca", "fleet-ca.pem"),
            ["Certificates:CommandSigningPublicKeyPath"] = Path.Combine(_dataDirectory, "command-signing.pub.pem"),
            // Attempts are over after 1 s; the command waits for an offline device until it expires after 8 s.
            ["Retirement:EraseAttempts"] = "2",
            ["Retirement:EraseAttemptTimeout"] = "00:00:00.500",
            ["Retirement:EraseBackoffMultiplier"] = "1",
            ["Retirement:EraseDeadline"] = "00:00:08",
        }, builder =>
        {
            builder.AddCredentialsService();
            builder.AddDeviceGatewayService();
            builder.AddCertificatesService();
            builder.AddInventoryService();
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        if (Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }

    private Task<DeviceFleet> StartFleet(params DeviceSpec[] specs) => EnrollFleet(connect: true, specs);

    /// <summary>The devices in the inventory, enrolled, and provisioned (identity certificate, broker user, bundle);
    /// <paramref name="connect"/>: also online on the device channel.</summary>
    private async Task<DeviceFleet> EnrollFleet(bool connect, params DeviceSpec[] specs)
    {
        var fleet = new DeviceFleet(Provisioning, specs, TimeProvider.System, NullLoggerFactory.Instance, TimeSpan.FromMilliseconds(100));
        await Enroll(fleet.AttestationPublicKeys);
        if (connect)
            await fleet.StartAsync(CancellationToken.None);
        return fleet;
    }

    /// <summary>Devices (id → attestation public key) in the inventory, enrolled, and provisioned: identity certificate, broker
    /// user, and bundle in <see cref="Provisioning"/>.</summary>
    private async Task Enroll(IReadOnlyDictionary<string, byte[]> keys)
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

    private DeviceSpec Device(DeviceBehaviour behaviour, DateTimeOffset? offlineUntil = null) =>
        new() { Id = $"{behaviour.ToString().ToLowerInvariant()}-{_run}", Behaviour = behaviour, OfflineUntil = offlineUntil };
}
