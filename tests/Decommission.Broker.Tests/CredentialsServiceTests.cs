using System.Text.RegularExpressions;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Contracts;
using Decommission.DeviceProtocol;
using Decommission.Testing;
using MassTransit;
using Xunit.Abstractions;

namespace Decommission.Broker.Tests;

/// <summary>
/// The credentials service makes each device's broker identity at enrollment, narrows it at quarantine and removes it at
/// revocation; the device, mosquitto with its attestation key and the identity certificate from its provisioning bundle.
/// </summary>
public sealed class CredentialsServiceTests(CredentialsOnBroker credentials, ITestOutputHelper output) : IClassFixture<CredentialsOnBroker>
{
    private static readonly TimeSpan CutOffBound = TimeSpan.FromSeconds(5);

    private DeviceBroker Broker => credentials.Broker;

    [Fact]
    public async Task An_enrolled_device_connects_with_its_bundle_gets_its_commands_and_no_other_devices()
    {
        var (id, other) = (DeviceIdentity.NewDeviceId(), DeviceIdentity.NewDeviceId());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var bundle = await credentials.EnrollAsync(id, key);
        await credentials.EnrollAsync(other, otherKey);

        // The bundle as a device reads it: complete, its certificate issued by the fleet CA it names, its topics its own.
        var (parsed, problem) = ProvisioningBundle.Parse(bundle.ToJson());
        Assert.True(parsed is not null, problem);
        Assert.True(ChainsTo(parsed.IdentityCertificate, parsed.FleetCaCertificate), "the identity certificate does not chain to the fleet CA");
        Assert.Equal([$"127.0.0.1:{Broker.MqttsPort}"], parsed.Mqtt.Servers);
        Assert.Equal(DeviceTopics.Commands(id), parsed.Mqtt.CommandTopic);
        Assert.Equal("current", Assert.Single(parsed.CommandSigningKeys).Status);

        using var identity = DeviceIdentity.FromEnrollment(id, parsed.IdentityCertificate, key);
        var mosquitto = new Mosquitto(Broker);
        await using (var device = mosquitto.StartSubscriber(identity, parsed.Mqtt.CommandTopic, count: 1))
        {
            await device.WaitForLineAsync("Subscribed (mid: 1): 1", Mosquitto.Patience);
            var command = $"{{\"erase\":\"{Guid.NewGuid():N}\"}}";
            await Broker.PublishCommandAsync(id, command);
            Assert.Equal(0, await device.WaitForExitAsync(Mosquitto.Patience));
            Assert.Contains(command, device.Output, StringComparison.Ordinal);
        }

        var refused = await mosquitto.TrySubscribeAsync(identity, id, DeviceTopics.Commands(other), seconds: 3);
        Assert.True(Mosquitto.Connected(refused.Output + refused.Error), refused.Output + refused.Error);
        Assert.DoesNotContain("Subscribed (mid", refused.Output + refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quarantine_closes_the_live_connection_and_refuses_telemetry_then_revocation_cuts_the_device_off()
    {
        var (id, retirement) = (DeviceIdentity.NewDeviceId(), Guid.NewGuid());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var bundle = await credentials.EnrollAsync(id, key);
        using var identity = DeviceIdentity.FromEnrollment(id, bundle.IdentityCertificate, key);
        var mosquitto = new Mosquitto(Broker);
        var telemetry = await mosquitto.PublishAsync(identity, DeviceTopics.Telemetry(id), "{}");
        Assert.True(telemetry.ExitCode == 0, telemetry.Output + telemetry.Error);
        await using var device = mosquitto.StartSubscriber(identity, DeviceTopics.Commands(id));
        await device.WaitForLineAsync("Subscribed (mid: 1): 1", Mosquitto.Patience);

        var quarantining = device.Now;
        await credentials.QuarantineAsync(id, retirement);
        var closed = await device.WaitForLineAsync("sending CONNECT", Mosquitto.Patience, occurrence: 2);
        output.WriteLine($"quarantine: connection closed {(closed - quarantining).TotalSeconds:0.00} s after the order was published");
        await device.WaitForLineAsync("received SUBACK", Mosquitto.Patience, occurrence: 2);
        telemetry = await mosquitto.PublishAsync(identity, DeviceTopics.Telemetry(id), "{}");
        Assert.True(telemetry.ExitCode != 0, $"telemetry was acknowledged after the quarantine:\n{telemetry.Output}{telemetry.Error}");

        // The order again (a re-drive of a slow quarantine): answered, and the device's connection is left alone.
        await credentials.QuarantineAgainAsync(id, retirement);
        await Task.Delay(CutOffBound);
        Assert.Equal(2, Regex.Matches(device.Output, "sending CONNECT").Count);

        var revoking = device.Now;
        await credentials.RevokeAsync(id, retirement);
        var lost = await device.WaitForLineAsync("sending CONNECT", Mosquitto.Patience, occurrence: 3);
        output.WriteLine($"revocation: connection closed {(lost - revoking).TotalSeconds:0.00} s after the order was published");
        Assert.True(lost - revoking < CutOffBound, $"the live connection closed {(lost - revoking).TotalSeconds:0.0} s after the revocation was ordered");
        await Eventually.True(() => credentials.Revoked(retirement), "IdentityRevoked");
        var again = await mosquitto.SubscribeAndLeaveAsync(identity, id, DeviceTopics.Commands(id));
        Assert.False(Mosquitto.Connected(again.Output + again.Error), again.Output + again.Error);
    }

    [Fact]
    public async Task A_management_api_failure_fails_the_enrollment_whole_and_leaves_the_broker_identitys_removal_retried_until_it_works()
    {
        var (id, retirement) = (DeviceIdentity.NewDeviceId(), Guid.NewGuid());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await File.WriteAllTextAsync(credentials.PasswordFile, "wrong\n");
        try
        {
            // Enrollment is a request: the caller gets the fault with the reason, and nothing is enrolled.
            var fault = await Assert.ThrowsAsync<RequestFaultException>(() => credentials.EnrollAsync(id, key));
            Assert.Contains("401", fault.Fault!.Exceptions[0].Message, StringComparison.Ordinal);
        }
        finally
        {
            await File.WriteAllTextAsync(credentials.PasswordFile, "guest\n");
        }
        var bundle = await credentials.EnrollAsync(id, key);
        await credentials.QuarantineAsync(id, retirement);

        await File.WriteAllTextAsync(credentials.PasswordFile, "wrong\n");
        using var identity = DeviceIdentity.FromEnrollment(id, bundle.IdentityCertificate, key);
        try
        {
            await credentials.RevokeAsync(id, retirement);
            // The identity is on the CRL and the saga hears of it at once (it does not wait for the broker's management API);
            // removing the broker identity fails meanwhile and is retried (after 50 ms, 200 ms, 1 s, then 2, 5, 10 s).
            await Eventually.True(() => credentials.Revoked(retirement), "IdentityRevoked", TimeSpan.FromSeconds(10));
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            var stillThere = await new Mosquitto(Broker).SubscribeAndLeaveAsync(identity, id, DeviceTopics.Commands(id));
            Assert.True(Mosquitto.Connected(stillThere.Output + stillThere.Error), "the broker identity went although every removal failed");
        }
        finally
        {
            await File.WriteAllTextAsync(credentials.PasswordFile, "guest\n");
        }
        // The message was kept and retried: with the password right again, a later attempt removes the identity.
        await Eventually.True(async () =>
        {
            var attempt = await new Mosquitto(Broker).SubscribeAndLeaveAsync(identity, id, DeviceTopics.Commands(id));
            return !Mosquitto.Connected(attempt.Output + attempt.Error);
        }, "the device refused at connect once the password was corrected", TimeSpan.FromSeconds(30));
    }

    private static bool ChainsTo(string certificatePem, string caPem)
    {
        using var certificate = X509Certificate2.CreateFromPem(certificatePem);
        using var ca = X509Certificate2.CreateFromPem(caPem);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
