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
/// <summary>Receipts that prove nothing (garbage, forged, junk for another device's command) are kept with their reason and change nothing.</summary>
public sealed partial class DeviceChannelTests
{
    [Fact]
    public async Task Garbage_and_forged_receipts_are_kept_with_their_reason_and_the_gateway_keeps_verifying()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.Healthy));
        var device = fleet.Devices.Values.Single();
        // guest has every right in the devices' virtual host on the test node: it plays an attacker who may publish anywhere.
        var factory = new ConnectionFactory { Uri = _node.AdminUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();

        await channel.BasicPublishAsync(DeviceChannelNames.TopicExchange, ReceiptTopic(device.Id), Encoding.UTF8.GetBytes($"garbage {_run}"));
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = new WipeReceipt
        {
            ReceiptId = _run, CommandId = Guid.NewGuid().ToString(), DeviceId = device.Id, Nonce = "guess", Outcome = ErasureMethods.Succeeded,
            Method = ErasureMethods.CryptographicErase, SelfCheckPassed = true, CompletedAt = ProtocolSigning.Timestamp(DateTimeOffset.UtcNow),
            KeyId = ProtocolSigning.KeyId(forger),
        };
        forged = forged with { Signature = ProtocolSigning.Sign(forger, forged.SignedBytes()) };
        await channel.BasicPublishAsync(DeviceChannelNames.TopicExchange, ReceiptTopic(device.Id), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(forged));
        // Naming this device, on another device's receipt topic: refused for that alone, before any check of its signature.
        await channel.BasicPublishAsync(DeviceChannelNames.TopicExchange, ReceiptTopic($"other-{_run}"),
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(forged with { ReceiptId = $"{_run}-elsewhere" }));

        var database = _host.Services.GetRequiredService<GatewayDatabase>();
        var reasons = await WaitForReceipts(database, device.Id, garbageMarker: _run);
        Assert.Contains(R.Malformed, reasons);
        Assert.Contains(R.UnregisteredKey, reasons);
        Assert.Contains(R.TopicMismatch, reasons);

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

        var factory = new ConnectionFactory { Uri = _node.AdminUri };
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
        await channel.BasicPublishAsync(DeviceChannelNames.TopicExchange, ReceiptTopic(victim.Id), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(junk));

        // The receipt is kept with its reason, the retirement is not failed by it, and the device's own receipt completes it.
        var completed = await _host.WaitForState(id, "Completed", seconds: 30);
        Assert.Equal(RetirementStateMachine.Purge, completed.SanitizationType);
        await using var gateway = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        Assert.Equal(R.UnregisteredKey, await gateway.ExecuteScalarAsync<string>(
            "SELECT reason FROM receipts WHERE device_id = @Id AND verdict = 'Rejected';", new { victim.Id }));
    }
    [Fact]
    public async Task A_redelivered_verified_receipt_is_announced_with_the_time_it_first_arrived()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.Healthy));
        var device = fleet.Devices.Values.Single();
        var completed = await _host.WaitForState(await new Scenario(_host).Retire(device.Id), "Completed", seconds: 30);
        await using var gateway = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        var (body, receivedAt) = await gateway.QuerySingleAsync<(byte[] Body, string ReceivedAt)>(
            "SELECT body AS Body, received_at AS ReceivedAt FROM receipts WHERE sha256 = @Sha256 AND verdict = 'Verified';", new { Sha256 = completed.Evidence!.ReceiptSha256 });
        Assert.Equal(DateTimeOffset.Parse(receivedAt, System.Globalization.CultureInfo.InvariantCulture), completed.Evidence.ReceiptReceivedAt);

        var announced = new TaskCompletionSource<ErasureVerified>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var _ = _host.Services.GetRequiredService<IBus>().ConnectPublishObserver(new VerifiedObserver(device.Id, announced));
        var verdict = await _host.Services.GetRequiredService<Receipts.ReceiptProcessor>().ProcessAsync(body, CancellationToken.None);

        Assert.Equal(Receipts.ReceiptVerdict.Duplicate, verdict.Verdict);
        var again = await announced.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(completed.Evidence.ReceiptReceivedAt, again.Evidence.ReceiptReceivedAt);
        Assert.True(again.VerifiedAt > again.Evidence.ReceiptReceivedAt, "announced again later, stating the first arrival");
    }

    [Fact]
    public async Task Copies_of_one_receipt_checked_at_the_same_time_verify_once_and_none_is_taken_for_a_replay()
    {
        // A device back online finds the waiting copy of its command and a fresh re-send, and answers both with the same bytes.
        await using var fleet = await StartFleet(Device(DeviceBehaviour.NeverAnswers));
        var device = fleet.Devices.Values.Single();
        var id = await new Scenario(_host).Retire(device.Id);
        var erasing = await _host.WaitForRetirement(id, r => r.EraseCommandId is not null, "its erase command", seconds: 20);
        await using var gateway = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        var command = await Eventually.Get<string?>(() => gateway.QuerySingleOrDefaultAsync<string?>("SELECT body FROM erase_commands WHERE command_id = @Id;",
            new { Id = erasing.EraseCommandId!.Value.ToString() }), body => body is not null, "the gateway to issue the command");
        var receipt = device.Receive(Encoding.UTF8.GetBytes(command!), DateTimeOffset.UtcNow)!;

        var processor = _host.Services.GetRequiredService<Receipts.ReceiptProcessor>();
        var verdicts = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => processor.ProcessAsync(receipt, CancellationToken.None))));

        Assert.Equal(1, verdicts.Count(v => v.Verdict == Receipts.ReceiptVerdict.Verified));
        Assert.Equal(5, verdicts.Count(v => v.Verdict == Receipts.ReceiptVerdict.Duplicate));
        Assert.Empty(await gateway.QueryAsync<string>("SELECT reason FROM receipts WHERE device_id = @Id AND verdict = 'Rejected';", new { device.Id }));
        await _host.WaitForState(id, "Completed", seconds: 30);
    }

    private sealed class VerifiedObserver(string deviceId, TaskCompletionSource<ErasureVerified> seen) : IPublishObserver
    {
        public Task PrePublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;
        public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;
        public Task PostPublish<T>(PublishContext<T> context) where T : class
        {
            if (context.Message is ErasureVerified verified && verified.DeviceId == deviceId)
                seen.TrySetResult(verified);
            return Task.CompletedTask;
        }
    }

    private static string ReceiptTopic(string deviceId) => DeviceTopics.RoutingKey(DeviceTopics.Receipts(deviceId));

    private static async Task<List<string>> WaitForReceipts(GatewayDatabase database, string deviceId, string garbageMarker)
    {
        var marker = Encoding.UTF8.GetBytes($"garbage {garbageMarker}");
        return await Eventually.Get(async () =>
        {
            await using var connection = await database.OpenAsync();
            var rows = (await connection.QueryAsync<(string Reason, byte[] Body, string? DeviceId)>(
                "SELECT reason AS Reason, body AS Body, device_id AS DeviceId FROM receipts WHERE verdict = 'Rejected';")).ToList();
            return rows.Where(r => r.DeviceId == deviceId || r.Body.AsSpan().SequenceEqual(marker)).Select(r => r.Reason).ToList();
        }, mine => mine.Count >= 3, $"the rejected receipts (garbage, forged, on another's topic) kept for {deviceId}", TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
    }
}
