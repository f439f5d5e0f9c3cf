using System.Diagnostics;
using Dapper;
using Decommission.DeviceAgent;
using Decommission.Testing;
using Microsoft.Extensions.DependencyInjection;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;

/// <summary>
/// The device agent as its own process, killed with SIGKILL mid-run and started again: its devices come back with the keys
/// enrollment certified (they keep them on disk, as hardware does), so their receipts still verify at the gateway.
/// </summary>
public sealed partial class DeviceChannelTests
{
    [Fact]
    public async Task Device_agent_killed_and_restarted_mid_run_keeps_its_devices_keys_and_their_receipts_still_verify()
    {
        string[] ids = [$"agent-before-{_run}", $"agent-during-{_run}"];
        await using var agent = new DeviceAgentProcess(Path.Combine(_dataDirectory, "device-agent"), Provisioning, ids);
        await agent.StartAsync();
        var keys = await agent.AttestationKeysAsync();
        Assert.Equal(ids.Order(), keys.Keys.Order());
        await Enroll(keys);

        // One device erases and is verified before the crash: its attestation key is destroyed on disk after the verdict.
        var before = await new Scenario(_host).Retire(ids[0]);
        await _host.WaitForState(before, "Completed", seconds: 30);
        var retiredKey = Path.Combine(agent.DataDirectory, ids[0], DeviceStateDirectory.AttestationKeyFile);
        await Eventually.True(() => !File.Exists(retiredKey), $"{ids[0]} to destroy its attestation key file after the accepted verdict");

        // Killed; the other device's retirement starts while the agent is down, and the agent comes back.
        await agent.KillAsync();
        var during = await new Scenario(_host).Retire(ids[1]);
        var restarting = Stopwatch.StartNew();
        await agent.StartAsync();
        var restartedIn = restarting.Elapsed;

        Assert.Equal(keys, await agent.AttestationKeysAsync());
        var completed = await _host.WaitForState(during, "Completed", seconds: 30);
        Assert.True(completed.Evidence!.SelfCheckPassed, $"agent back in {restartedIn.TotalSeconds:F1} s");
        Assert.False(File.Exists(retiredKey), "a destroyed attestation key came back after the restart");
        // The restarted agent's own words: the retired device stays away, and no device's bundle was refused as another key's.
        var afterRestart = agent.Log[agent.Log.IndexOf(DeviceAgentProcess.Killed, StringComparison.Ordinal)..];
        Assert.Contains($"Device {ids[0]} is retired (its erase was accepted, its attestation key destroyed)", afterRestart, StringComparison.Ordinal);
        Assert.DoesNotContain("is refused", afterRestart, StringComparison.Ordinal);
        foreach (var slot in new[] { "user", "recovery" })
            Assert.False(File.Exists(Path.Combine(agent.DataDirectory, ids[1], DeviceStateDirectory.KeyEncryptionKeyFile(slot))));

        // Every receipt the gateway got from either device verified with the key it registered at enrollment.
        await using var connection = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        var receipts = (await connection.QueryAsync<(string DeviceId, string Verdict, string Reason)>(
            "SELECT device_id AS DeviceId, verdict AS Verdict, reason AS Reason FROM receipts WHERE device_id IN @Ids;", new { Ids = ids })).ToList();
        Assert.Equal(ids.Order(), receipts.Where(r => r.Verdict == "Verified").Select(r => r.DeviceId).Order());
        Assert.DoesNotContain(receipts, r => r.Reason == R.UnregisteredKey);
        Assert.DoesNotContain(receipts, r => r.Verdict == "Rejected");
    }
}
