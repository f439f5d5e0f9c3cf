using Dapper;
using Decommission.DeviceAgent;
using Decommission.DeviceGateway.Receipts;
using Decommission.Orchestrator.StateMachines;
using Decommission.Testing;
using Microsoft.Extensions.DependencyInjection;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;

/// <summary>
/// The whole flow with the gateway scaled out: two replicas, each a host of its own, on one PostgreSQL database and one
/// command-signing key, taking erase orders and device receipts from the same queues.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class GatewayReplicasTests : GatewayFlow
{
    protected override int GatewayReplicas => 2;

    [Fact]
    public async Task Two_gateway_replicas_on_postgresql_erase_each_device_once_and_either_knows_a_receipt_the_other_verified()
    {
        var healthy = Enumerable.Range(0, 4).Select(i => new DeviceSpec { Id = $"healthy-{i}-{_run}", Behaviour = DeviceBehaviour.Healthy }).ToList();
        var replaying = new DeviceSpec { Id = $"replays-{_run}", Behaviour = DeviceBehaviour.ReplaysOldReceipt };
        await using var fleet = await StartFleet([.. healthy, replaying]);

        var scenario = new Scenario(_host);
        var retirements = new Dictionary<string, Guid>();
        foreach (var device in healthy.Append(replaying))
            retirements[device.Id] = await scenario.Retire(device.Id);
        foreach (var device in healthy)
        {
            var completed = await _host.WaitForState(retirements[device.Id], "Completed", seconds: 40);
            Assert.Equal(RetirementStateMachine.Purge, completed.SanitizationType);
            Assert.False(fleet.Devices[device.Id].TryReadData(out _));
        }
        var failed = await _host.WaitForState(retirements[replaying.Id], "Failed", seconds: 40);
        Assert.Equal(R.Replay, failed.FailureReason);

        // One signed command per retirement, whichever replica took each attempt, and one receipt verified it.
        await using var gateway = await Gateway.GetRequiredService<GatewayDatabase>().OpenAsync();
        foreach (var device in healthy)
        {
            var command = await gateway.QuerySingleAsync<(string Status, string? ReceiptSha256)>(
                "SELECT status AS Status, receipt_sha256 AS ReceiptSha256 FROM erase_commands WHERE device_id = @Id;", new { device.Id });
            Assert.Equal("Verified", command.Status);
            Assert.Equal(new[] { command.ReceiptSha256! }, await gateway.QueryAsync<string>(
                "SELECT sha256 FROM receipts WHERE device_id = @Id AND verdict = 'Verified';", new { device.Id }));
        }

        // The verified receipt delivered again, to each replica: whichever sees it knows it for the answer already counted.
        var first = healthy[0].Id;
        var (body, sha256) = await gateway.QuerySingleAsync<(byte[] Body, string Sha256)>(
            "SELECT body AS Body, sha256 AS Sha256 FROM receipts WHERE device_id = @Id AND verdict = 'Verified';", new { Id = first });
        foreach (var replica in Gateways)
        {
            var verdict = await replica.Get<ReceiptProcessor>().ProcessAsync(body, CancellationToken.None, sentBy: first);
            Assert.Equal(ReceiptVerdict.Duplicate, verdict.Verdict);
        }
        Assert.Equal(1L, await gateway.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM receipts WHERE sha256 = @Sha256 AND verdict = 'Verified';", new { Sha256 = sha256 }));
    }
}
