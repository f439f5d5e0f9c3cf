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
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class DeviceChannelTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly Dictionary<string, DeviceEnrolled> _secrets = [];
    private OrchestratorHost _host = null!;

    private async Task WaitForAttestationKeys(IEnumerable<string> deviceIds)
    {
        var database = _host.Services.GetRequiredService<GatewayDatabase>();
        var until = DateTime.UtcNow.AddSeconds(15);
        foreach (var id in deviceIds)
        {
            await using var connection = await database.OpenAsync();
            while (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM attestation_keys WHERE device_id = @Id;", new { Id = id }) == 0)
            {
                Assert.True(DateTime.UtcNow < until, $"the gateway never got {id}'s attestation key");
                await Task.Delay(50);
            }
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
            ["DeviceGateway:DeviceBrokerUri"] = RabbitMqNode.Uri.ToString(),
            ["DeviceGateway:FleetCaCertificatePath"] = Path.Combine(_dataDirectory, "ca", "fleet-ca.pem"),
            ["Certificates:FleetCaCertificatePath"] = Path.Combine(_dataDirectory, "ca", "fleet-ca.pem"),
            ["Certificates:CommandSigningPublicKeyPath"] = Path.Combine(_dataDirectory, "command-signing.pub.pem"),
            ["Retirement:EraseAttempts"] = "4",
            ["Retirement:EraseAttemptTimeout"] = "00:00:01.500",
            ["Retirement:EraseBackoffMultiplier"] = "1",
        }, builder =>
        {
            builder.AddCredentialsService();
            builder.AddDeviceGatewayService();
            builder.AddCertificatesService();
            builder.AddInventoryService();
        });
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Task<DeviceFleet> StartFleet(params DeviceSpec[] specs) => EnrollFleet(connect: true, specs);

    /// <summary>The devices in the inventory and enrolled; <paramref name="connect"/>: also on the device channel.</summary>
    private async Task<DeviceFleet> EnrollFleet(bool connect, params DeviceSpec[] specs)
    {
        using var gatewayKey = ECDsa.Create();
        gatewayKey.ImportFromPem(await File.ReadAllTextAsync(Path.Combine(_dataDirectory, "command-signing.pub.pem")));
        var now = DateTimeOffset.UtcNow;
        var fleet = new DeviceFleet(RabbitMqNode.Uri,
            specs.Select(s => new SimulatedDevice(s, gatewayKey.ExportSubjectPublicKeyInfo(), now)), TimeProvider.System, NullLogger<DeviceFleet>.Instance);
        if (connect)
            await fleet.StartAsync(CancellationToken.None);

        // The devices are in the inventory...
        var csv = "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n" + string.Join("\n",
            fleet.Devices.Keys.Select(id => $"{id},Acme,TH-200,SN-{id},A-{id},eMMC 8 GB,Plant ops,Lyon plant,floor,"));
        var imported = await _host.Bus.CreateRequestClient<ImportDevices>(new Uri($"queue:{QueueNames.Inventory}"))
            .GetResponse<DevicesImported>(new ImportDevices { Csv = csv, RequestedBy = "test" });
        Assert.Empty(imported.Message.Problems);

        // ... and enrolled with the credentials service, which registers each attestation key with the gateway.
        var client = _host.Bus.CreateRequestClient<EnrollDevice>(new Uri($"queue:{QueueNames.EnrollDevice}"));
        foreach (var device in fleet.Devices.Values)
        {
            var enrolled = await client.GetResponse<DeviceEnrolled>(new EnrollDevice
            {
                DeviceId = device.Id, AttestationPublicKey = Convert.ToBase64String(device.AttestationPublicKey), NetworkSegment = "floor", RequestedBy = "test",
            });
            _secrets[device.Id] = enrolled.Message;
        }
        await WaitForAttestationKeys(fleet.Devices.Keys);
        return fleet;
    }

    private DeviceSpec Device(DeviceBehaviour behaviour, DateTimeOffset? offlineUntil = null) =>
        new() { Id = $"{behaviour.ToString().ToLowerInvariant()}-{_run}", Behaviour = behaviour, OfflineUntil = offlineUntil };

    [Fact]
    public async Task A_healthy_device_erases_and_its_verified_receipt_completes_the_retirement()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.Healthy));
        var device = fleet.Devices.Values.Single();
        Assert.True(device.TryReadData(out var before));
        Assert.NotEmpty(before);

        var id = await new Scenario(_host).Retire(device.Id);
        var completed = await _host.WaitForState(id, "Completed", seconds: 30);

        Assert.False(device.TryReadData(out _));
        Assert.True(device.IsErased);
        Assert.Equal(RetirementStateMachine.Purge, completed.SanitizationType);
        Assert.True(completed.Evidence!.SelfCheckPassed);
        Assert.Contains(completed.Evidence.DestroyedKeyIds, k => k.StartsWith("media-key:", StringComparison.Ordinal));
        Assert.NotEmpty(completed.Evidence.AreasNotCovered);
        Assert.Equal(64, completed.Evidence.ReceiptSha256.Length);

        // Nothing usable is left in the fleet either: its secrets are dead and its identity is on the CRL.
        Assert.Equal(3, completed.RevokedCredentials.Count);
        var check = _host.Bus.CreateRequestClient<CheckCredential>(new Uri($"queue:{QueueNames.CheckCredential}"));
        var secrets = _secrets[device.Id].Secrets;
        foreach (var secret in new[] { secrets.CloudToken, secrets.ApiKey, secrets.AdminPassword })
            Assert.False((await check.GetResponse<CredentialChecked>(new CheckCredential { DeviceId = device.Id, Secret = secret })).Message.Valid);
        var crl = await _host.Services.GetRequiredService<Credentials.Revocation.CrlPublisher>().LatestAsync(CancellationToken.None);
        var serial = _secrets[device.Id].IdentityCertificateSerial;
        Assert.Equal(serial, completed.IdentityCertificateSerial);
        System.Security.Cryptography.X509Certificates.CertificateRevocationListBuilder.Load(crl!, out _);
        Assert.True(crl!.AsSpan().IndexOf(Convert.FromHexString(serial)) >= 0, "the CRL lists the device's identity certificate");

        // And the auditor's proof: a signed certificate, on record, that states the evidence.
        var pdf = await File.ReadAllBytesAsync(Path.Combine(_dataDirectory, "certificates", completed.CertificateId + ".pdf"));
        var verdict = await _host.Services.GetRequiredService<Certificates.Issuing.CertificateVerification>().VerifyAsync(pdf, CancellationToken.None);
        Assert.Equal((Certificates.Issuing.VerificationResult.Valid, completed.CertificateId), (verdict.Verdict, verdict.CertificateId));
        await using var inventory = await _host.Services.GetRequiredService<InventoryDatabase>().OpenAsync();
        var until = DateTime.UtcNow.AddSeconds(10);
        string? status;
        while ((status = await inventory.ExecuteScalarAsync<string>("SELECT status FROM devices WHERE device_id = @Id;", new { device.Id })) != "Disposed"
               && DateTime.UtcNow < until)
            await Task.Delay(50);
        Assert.Equal("Disposed", status);
    }

    [Theory]
    [InlineData(DeviceBehaviour.EraseFails, R.DeviceReportedFailure)]
    [InlineData(DeviceBehaviour.SignsWithWrongKey, R.UnregisteredKey)]
    [InlineData(DeviceBehaviour.ReplaysOldReceipt, R.Replay)]
    public async Task A_hostile_or_failing_device_is_rejected_with_its_own_reason_and_nothing_completes(DeviceBehaviour behaviour, string reason)
    {
        await using var fleet = await StartFleet(Device(behaviour));
        var device = fleet.Devices.Values.Single();

        var id = await new Scenario(_host).Retire(device.Id);
        var failed = await _host.WaitForState(id, "Failed", seconds: 30);

        Assert.Equal((reason, "Erasing"), (failed.FailureReason, failed.FailedIn));
        await Task.Delay(1000);
        var later = (await _host.Store.LoadAsync(id))!;
        Assert.Equal("Failed", later.CurrentState);
        Assert.Null(later.Evidence);
        if (behaviour != DeviceBehaviour.SignsWithWrongKey)
            Assert.True(device.TryReadData(out _), "a device that did not erase still holds readable data");
    }

    [Fact]
    public async Task An_offline_device_that_returns_before_the_deadline_is_verified_on_a_later_attempt()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.OfflineUntil, DateTimeOffset.UtcNow.AddSeconds(4)));
        var device = fleet.Devices.Values.Single();

        var id = await new Scenario(_host).Retire(device.Id);
        var completed = await _host.WaitForState(id, "Completed", seconds: 30);

        Assert.True(completed.EraseAttempts >= 2, $"verified on attempt {completed.EraseAttempts}");
        Assert.False(device.TryReadData(out _));
        // Every attempt re-sent the one signed command: one row, one nonce, the device answered it.
        await using var connection = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        var commands = (await connection.QueryAsync<(int Attempts, string Nonce, string Status)>(
            "SELECT attempts AS Attempts, nonce AS Nonce, status AS Status FROM erase_commands WHERE device_id = @Id;", new { device.Id })).ToList();
        var command = Assert.Single(commands);
        Assert.True(command.Attempts >= 2);
        Assert.Equal("Verified", command.Status);
        Assert.Equal(command.Nonce, device.LastReceipt!.Nonce);
    }

    [Fact]
    public async Task A_device_that_has_never_connected_finds_its_erase_command_waiting_in_its_own_queue()
    {
        await using var fleet = await EnrollFleet(connect: false, Device(DeviceBehaviour.Healthy));
        var device = fleet.Devices.Values.Single();

        var id = await new Scenario(_host).Retire(device.Id);

        // Nothing has declared the device's queue: the gateway's command comes back unroutable, and the gateway creates
        // the durable queue and puts the command in it (a lost command would show as an empty queue until the next attempt).
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        var waiting = 0u;
        for (var until = DateTime.UtcNow.AddSeconds(15); waiting == 0; await Task.Delay(20))
        {
            Assert.True(DateTime.UtcNow < until, $"no erase command waited in {device.Id}'s queue");
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                waiting = (await channel.QueueDeclarePassiveAsync(DeviceChannelNames.CommandQueue(device.Id))).MessageCount;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // Not declared yet.
            }
        }

        await fleet.StartAsync(CancellationToken.None);
        await _host.WaitForState(id, "Completed", seconds: 30);
        Assert.False(device.TryReadData(out _));
    }

    [Fact]
    public async Task A_device_that_never_answers_ends_the_retirement_as_unreachable()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.NeverAnswers));

        var id = await new Scenario(_host).Retire(fleet.Devices.Keys.Single());
        var failed = await _host.WaitForState(id, "Failed", seconds: 30);

        Assert.Equal(FailureReasons.DeviceUnreachable, failed.FailureReason);
        Assert.Equal(4, failed.EraseAttempts);
    }

    [Fact]
    public async Task Garbage_and_forged_receipts_are_kept_with_their_reason_and_the_gateway_keeps_verifying()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.Healthy));
        var device = fleet.Devices.Values.Single();
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();

        await channel.BasicPublishAsync(DeviceChannelNames.ReceiptExchange, "", Encoding.UTF8.GetBytes($"garbage {_run}"));
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = new WipeReceipt
        {
            ReceiptId = _run, CommandId = Guid.NewGuid().ToString(), DeviceId = device.Id, Nonce = "guess", Outcome = ErasureMethods.Succeeded,
            Method = ErasureMethods.CryptographicErase, SelfCheckPassed = true, CompletedAt = ProtocolSigning.Timestamp(DateTimeOffset.UtcNow),
            KeyId = ProtocolSigning.KeyId(forger),
        };
        forged = forged with { Signature = ProtocolSigning.Sign(forger, forged.SignedBytes()) };
        await channel.BasicPublishAsync(DeviceChannelNames.ReceiptExchange, "", System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(forged));

        var database = _host.Services.GetRequiredService<GatewayDatabase>();
        var reasons = await WaitForReceipts(database, device.Id, garbageMarker: _run);
        Assert.Contains(R.Malformed, reasons);
        Assert.Contains(R.UnregisteredKey, reasons);

        var id = await new Scenario(_host).Retire(device.Id);
        await _host.WaitForState(id, "Completed", seconds: 30);
    }

    [Fact]
    public async Task A_junk_receipt_naming_another_devices_pending_command_does_not_fail_its_retirement()
    {
        // The victim is offline for a while: its command waits, and an attacker on the device channel sees its id and nonce.
        await using var fleet = await StartFleet(Device(DeviceBehaviour.OfflineUntil, DateTimeOffset.UtcNow.AddSeconds(4)));
        var victim = fleet.Devices.Values.Single();
        var id = await new Scenario(_host).Retire(victim.Id);
        var erasing = await _host.WaitForState(id, "Erasing", seconds: 15);

        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var junk = new WipeReceipt
        {
            ReceiptId = _run, CommandId = erasing.EraseCommandId!.Value.ToString(), DeviceId = victim.Id, Nonce = erasing.EraseNonce!,
            Outcome = ErasureMethods.Failed, Method = ErasureMethods.CryptographicErase, SelfCheckPassed = false,
            CompletedAt = ProtocolSigning.Timestamp(DateTimeOffset.UtcNow), KeyId = ProtocolSigning.KeyId(attacker),
        };
        junk = junk with { Signature = ProtocolSigning.Sign(attacker, junk.SignedBytes()) };
        await channel.BasicPublishAsync(DeviceChannelNames.ReceiptExchange, "", System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(junk));

        // The receipt is kept with its reason, the retirement is not failed by it, and the device's own receipt completes it.
        var completed = await _host.WaitForState(id, "Completed", seconds: 30);
        Assert.Equal(RetirementStateMachine.Purge, completed.SanitizationType);
        await using var gateway = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        Assert.Equal(R.UnregisteredKey, await gateway.ExecuteScalarAsync<string>(
            "SELECT reason FROM receipts WHERE device_id = @Id AND verdict = 'Rejected';", new { victim.Id }));
    }

    [Fact]
    public async Task An_erase_order_from_outside_a_retirement_or_for_a_held_device_erases_nothing()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.Healthy));
        var device = fleet.Devices.Values.Single();
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();

        // An order nobody quarantined for: refused after the gateway waited for the quarantine, and parked in erase-device_error.
        var stranger = Guid.NewGuid();
        await SendRaw(channel, QueueNames.EraseDevice, "EraseDevice", new EraseDevice
        {
            RetirementId = stranger, DeviceId = device.Id, CommandId = Guid.NewGuid(), Nonce = ProtocolSigning.NewNonce(), Attempt = 1,
            AttemptExpiresAt = DateTimeOffset.UtcNow.AddMinutes(1), ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
        });
        var reason = await ErrorReasonFor(connection, $"{QueueNames.EraseDevice}_error", stranger.ToString(), seconds: 40);
        Assert.Contains("no quarantine", reason);

        // A held device is never erased, even with a quarantine announced (two leaked credentials): the hold comes from inventory.
        var held = await _host.Bus.CreateRequestClient<SetLegalHold>(new Uri($"queue:{QueueNames.Inventory}"))
            .GetResponse<LegalHoldSet>(new SetLegalHold { DeviceId = device.Id, Hold = true, Reason = "litigation", RequestedBy = "legal" });
        Assert.True(held.Message.Hold);
        var retirement = Guid.NewGuid();
        // What the saga would hear: a queue of our own on the ErasureRejected exchange.
        var watch = (await channel.QueueDeclareAsync($"watch-rejections-{_run}", durable: false, exclusive: false, autoDelete: false)).QueueName;
        await channel.QueueBindAsync(watch, "Decommission.Contracts:ErasureRejected", "");
        await Task.Delay(500);
        await _host.Bus.Publish(new DeviceQuarantined { RetirementId = retirement, DeviceId = device.Id, QuarantinedAt = DateTimeOffset.UtcNow });
        await Task.Delay(500);
        await SendRaw(channel, QueueNames.EraseDevice, "EraseDevice", new EraseDevice
        {
            RetirementId = retirement, DeviceId = device.Id, CommandId = Guid.NewGuid(), Nonce = ProtocolSigning.NewNonce(), Attempt = 1,
            AttemptExpiresAt = DateTimeOffset.UtcNow.AddMinutes(1), ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
        });
        var rejected = await NextMessage(watch, retirement.ToString(), seconds: 20);
        var message = System.Text.Json.JsonDocument.Parse(rejected).RootElement.GetProperty("message");
        Assert.Equal((R.LegalHold, true), (message.GetProperty("reason").GetString(), message.GetProperty("conclusive").GetBoolean()));
        await Task.Delay(1000);
        Assert.True(device.TryReadData(out _), "nothing erased the held device");
        await using var gateway = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        Assert.Equal(0L, await gateway.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM erase_commands WHERE device_id = @Id;", new { device.Id }));
    }

    private async Task<string> NextMessage(string queue, string marker, int seconds)
    {
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        for (var until = DateTime.UtcNow.AddSeconds(seconds); DateTime.UtcNow < until; await Task.Delay(200))
        {
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            var got = await channel.BasicGetAsync(queue, autoAck: true);
            if (got is not null && Encoding.UTF8.GetString(got.Body.Span) is var text && text.Contains(marker, StringComparison.Ordinal))
                return text;
        }
        throw new Xunit.Sdk.XunitException($"nothing about {marker} reached {queue}");
    }

    /// <summary>A MassTransit-shaped message sent with the raw client, as an attacker holding broker credentials would.</summary>
    private static async Task SendRaw<T>(IChannel channel, string queue, string type, T message)
    {
        var envelope = new
        {
            messageId = Guid.NewGuid(),
            destinationAddress = $"rabbitmq://localhost/{queue}",
            messageType = new[] { $"urn:message:Decommission.Contracts:{type}" },
            message,
            sentTime = DateTimeOffset.UtcNow,
        };
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(envelope, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web));
        await channel.BasicPublishAsync(queue, "", false, new BasicProperties { ContentType = "application/vnd.masstransit+json", Persistent = true }, body);
    }

    /// <summary>Waits for a message mentioning <paramref name="marker"/> in an _error queue and returns MassTransit's fault reason.</summary>
    private static async Task<string> ErrorReasonFor(IConnection connection, string queue, string marker, int seconds)
    {
        for (var until = DateTime.UtcNow.AddSeconds(seconds); DateTime.UtcNow < until; await Task.Delay(200))
        {
            // The _error queue exists once the first message faulted: until then every look closes the channel (404).
            await using var channel = await connection.CreateChannelAsync();
            BasicGetResult? got;
            try
            {
                got = await channel.BasicGetAsync(queue, autoAck: false);
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                continue;
            }
            if (got is null)
                continue;
            var text = Encoding.UTF8.GetString(got.Body.Span);
            var mine = text.Contains(marker, StringComparison.Ordinal);
            await channel.BasicNackAsync(got.DeliveryTag, false, requeue: !mine);
            if (mine)
                return got.BasicProperties.Headers?["MT-Fault-Message"] is byte[] reason ? Encoding.UTF8.GetString(reason) : "";
        }
        throw new Xunit.Sdk.XunitException($"nothing about {marker} reached {queue}");
    }

    private static async Task<List<string>> WaitForReceipts(GatewayDatabase database, string deviceId, string garbageMarker)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        var marker = Encoding.UTF8.GetBytes($"garbage {garbageMarker}");
        while (true)
        {
            await using var connection = await database.OpenAsync();
            var rows = (await connection.QueryAsync<(string Reason, byte[] Body, string? DeviceId)>(
                "SELECT reason AS Reason, body AS Body, device_id AS DeviceId FROM receipts WHERE verdict = 'Rejected';")).ToList();
            var mine = rows.Where(r => r.DeviceId == deviceId || r.Body.AsSpan().SequenceEqual(marker)).Select(r => r.Reason).ToList();
            if (mine.Count >= 2 || DateTime.UtcNow > until)
                return mine;
            await Task.Delay(100);
        }
    }
}
