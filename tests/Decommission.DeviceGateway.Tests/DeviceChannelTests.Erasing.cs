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
/// <summary>A device erases and proves it, or fails, or is away: each ends the retirement the way it should.</summary>
public sealed partial class DeviceChannelTests
{
    [Fact]
    public async Task A_healthy_device_erases_and_its_verified_receipt_completes_the_retirement()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.Healthy));
        var device = fleet.Devices.Values.Single();
        Assert.True(device.TryReadData(out var before));
        Assert.NotEmpty(before);

        var started = DateTimeOffset.UtcNow;
        var id = await new Scenario(_host).Retire(device.Id);
        var completed = await _host.WaitForState(id, "Completed", seconds: 30);
        var ended = DateTimeOffset.UtcNow;

        Assert.False(device.TryReadData(out _));
        Assert.True(device.IsErased);
        Assert.Equal(RetirementStateMachine.Purge, completed.SanitizationType);
        Assert.True(completed.Evidence!.SelfCheckPassed);
        Assert.Contains(completed.Evidence.DestroyedKeyIds, k => k.StartsWith("media-key:", StringComparison.Ordinal));
        Assert.NotEmpty(completed.Evidence.AreasNotCovered);
        Assert.Equal(64, completed.Evidence.ReceiptSha256.Length);
        // The gateway's own time of receipt, beside the device's claim, carried through the saga to the certificate.
        Assert.InRange(completed.Evidence.ReceiptReceivedAt!.Value, started, ended);
        using (var twin = System.Text.Json.JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(_dataDirectory, "certificates", completed.CertificateId + ".json"))))
        {
            var stated = twin.RootElement.GetProperty("certificate");
            Assert.Equal(completed.Evidence.ReceiptReceivedAt, stated.GetProperty("receiptReceivedAt").GetDateTimeOffset());
            Assert.Equal(completed.Evidence.CompletedAt, stated.GetProperty("sanitizedAt").GetDateTimeOffset());
            Assert.InRange(stated.GetProperty("commandIssuedAt").GetDateTimeOffset(), started, completed.Evidence.ReceiptReceivedAt.Value);
        }

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
        var status = await Eventually.Get(() => inventory.ExecuteScalarAsync<string>("SELECT status FROM devices WHERE device_id = @Id;", new { device.Id }),
            s => s == "Disposed", $"the inventory to mark {device.Id} Disposed", TimeSpan.FromSeconds(10));
        Assert.Equal("Disposed", status);
    }

    [Theory]
    [InlineData(DeviceBehaviour.EraseFails, R.DeviceReportedFailure)]
    [InlineData(DeviceBehaviour.SignsWithWrongKey, R.UnregisteredKey)]
    [InlineData(DeviceBehaviour.ReplaysOldReceipt, R.Replay)]
    [InlineData(DeviceBehaviour.ClockAhead, R.ClockSkew)]
    [InlineData(DeviceBehaviour.ClockBehind, R.ClockSkew)]
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
        Assert.Null(later.CertificateId);
        if (behaviour is not (DeviceBehaviour.SignsWithWrongKey or DeviceBehaviour.ClockAhead or DeviceBehaviour.ClockBehind))
            Assert.True(device.TryReadData(out _), "a device that did not erase still holds readable data");
    }

    [Fact]
    public async Task An_offline_device_that_returns_before_the_deadline_is_verified_on_a_later_attempt()
    {
        // Enrolled but offline; it comes online once the gateway has sent its command twice (not at a time fixed in advance,
        // which a loaded machine could reach before the first attempt).
        var spec = Device(DeviceBehaviour.Healthy);
        await using var fleet = await EnrollFleet(connect: false, spec);

        var id = await new Scenario(_host).Retire(spec.Id);
        await _host.WaitForRetirement(id, r => r.EraseAttempts >= 2, "its second attempt", seconds: 20);
        await fleet.StartAsync(CancellationToken.None);
        var device = fleet.Devices[spec.Id];
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
    public async Task A_device_that_has_never_connected_finds_its_erase_command_waiting_in_its_session_queue()
    {
        await using var fleet = await EnrollFleet(connect: false, Device(DeviceBehaviour.Healthy));
        var deviceId = fleet.AttestationPublicKeys.Keys.Single();

        var id = await new Scenario(_host).Retire(deviceId);

        // The gateway made the device's MQTT session queue when it registered its identity: the command waits there.
        await using var connection = await new ConnectionFactory { Uri = _node.AdminUri }.CreateConnectionAsync();
        await Eventually.Get(async () =>
        {
            await using var channel = await connection.CreateChannelAsync();
            return (await channel.QueueDeclarePassiveAsync(DeviceTopics.SessionQueue(deviceId))).MessageCount;
        }, waiting => waiting > 0, $"an erase command waiting in {deviceId}'s session queue");

        // Its first connection (clean session false) takes over the queue the gateway made, and the command with it.
        await fleet.StartAsync(CancellationToken.None);
        await _host.WaitForState(id, "Completed", seconds: 30);
        Assert.False(fleet.Devices[deviceId].TryReadData(out _));
    }

    [Fact]
    public async Task A_device_that_never_answers_ends_the_retirement_as_unreachable_when_its_command_expires()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.NeverAnswers));

        var id = await new Scenario(_host).Retire(fleet.Devices.Keys.Single());
        var failed = await _host.WaitForState(id, "Failed", seconds: 30);

        Assert.Equal(FailureReasons.DeviceUnreachable, failed.FailureReason);
        Assert.True(failed.EraseAttempts > 2, $"failed after {failed.EraseAttempts} sends: the attempts alone must not end it");
        Assert.True(failed.UpdatedAt >= failed.EraseExpiresAt, $"failed at {failed.UpdatedAt:O}, before its command expired at {failed.EraseExpiresAt:O}");
    }
}
