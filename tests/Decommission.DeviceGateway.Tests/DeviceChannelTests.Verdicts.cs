using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Decommission.DeviceAgent;
using Decommission.DeviceProtocol;
using Decommission.Testing;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;

/// <summary>A device may refuse, and is told the verdict on its answer: over the real broker, through every service.</summary>
public sealed partial class DeviceChannelTests
{
    [Fact]
    public async Task A_devices_signed_refusal_fails_the_retirement_with_its_reason_and_a_forged_refusal_changes_nothing()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.Refuses), Device(DeviceBehaviour.OfflineUntil, DateTimeOffset.UtcNow.AddSeconds(4)));
        var (refuser, victim) = (fleet.Devices.Values.Single(d => d.Behaviour == DeviceBehaviour.Refuses), fleet.Devices.Values.Single(d => d.Behaviour != DeviceBehaviour.Refuses));
        var scenario = new Scenario(_host);
        var refused = await scenario.Retire(refuser.Id);
        var victimsRetirement = await scenario.Retire(victim.Id);

        // Someone on the device channel refuses in the offline victim's name, with its command id and nonce, but not its key.
        var erasing = await _host.WaitForState(victimsRetirement, "Erasing", seconds: 15);
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = new EraseRefusal
        {
            RefusalId = _run, CommandId = erasing.EraseCommandId!.Value.ToString(), DeviceId = victim.Id, Nonce = erasing.EraseNonce!,
            Reason = RefusalReasons.NotPermitted, RefusedAt = ProtocolSigning.Timestamp(DateTimeOffset.UtcNow), KeyId = ProtocolSigning.KeyId(attacker),
        };
        forged = forged with { Signature = ProtocolSigning.Sign(attacker, forged.SignedBytes()) };
        // On the victim's own receipt topic (guest may publish anywhere in the devices' virtual host of the test node).
        await using (var connection = await new ConnectionFactory { Uri = _node.AdminUri }.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
            await channel.BasicPublishAsync(DeviceChannelNames.TopicExchange, DeviceTopics.RoutingKey(DeviceTopics.Receipts(victim.Id)),
                JsonSerializer.SerializeToUtf8Bytes(forged));

        var failed = await _host.WaitForState(refused, "Failed", seconds: 30);
        Assert.Equal(R.DeviceRefused, failed.FailureReason);
        Assert.Equal($"{RefusalReasons.NotPermitted}: {UntrustedText.Safe(SimulatedDevice.RefusalDetail)}", failed.FailureDetail);
        Assert.Null(failed.CertificateId);
        Assert.True(refuser.TryReadData(out _), "a device that refused erased nothing");
        await Eventually.True(() => refuser.LastVerdict is { Verdict: EraseVerdict.Accepted, RefusalSha256.Length: 64 }, "the refusal's verdict to reach the device");
        Assert.False(refuser.AttestationKeyDestroyed);

        await _host.WaitForState(victimsRetirement, "Completed", seconds: 30);
        await using var gateway = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        var kept = (await gateway.QueryAsync<(string DeviceId, string Verdict, string Reason)>(
            "SELECT device_id AS DeviceId, verdict AS Verdict, reason AS Reason FROM receipts WHERE message_type = @Type;", new { Type = EraseRefusal.Type })).ToList();
        Assert.Contains((refuser.Id, "Verified", R.DeviceRefused), kept);
        Assert.Contains((victim.Id, "Rejected", R.UnregisteredKey), kept);
    }

    [Fact]
    public async Task The_device_is_told_its_verdict_and_destroys_its_attestation_key_only_when_its_erase_was_accepted()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.Healthy), Device(DeviceBehaviour.EraseFails));
        var (healthy, failing) = (fleet.Devices.Values.Single(d => d.Behaviour == DeviceBehaviour.Healthy), fleet.Devices.Values.Single(d => d.Behaviour == DeviceBehaviour.EraseFails));
        var scenario = new Scenario(_host);
        var completed = await scenario.Retire(healthy.Id);
        var failed = await scenario.Retire(failing.Id);

        await _host.WaitForState(completed, "Completed", seconds: 30);
        await Eventually.True(() => healthy.AttestationKeyDestroyed, "the accepted verdict to reach the healthy device");
        Assert.Equal(EraseVerdict.Accepted, healthy.LastVerdict!.Verdict);

        await _host.WaitForState(failed, "Failed", seconds: 30);
        await Eventually.True(() => failing.LastVerdict is not null, "the rejected verdict to reach the failing device");
        Assert.Equal((EraseVerdict.Rejected, R.DeviceReportedFailure), (failing.LastVerdict!.Verdict, failing.LastVerdict.Reason));
        Assert.False(failing.AttestationKeyDestroyed);
    }
}
