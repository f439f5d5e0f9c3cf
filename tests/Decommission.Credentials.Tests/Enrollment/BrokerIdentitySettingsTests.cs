using System.Security.Cryptography;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.Credentials.Tests.Enrollment;

/// <summary>What enrollment does about devices' broker identities and provisioning, by configuration (the broker itself: Broker.Tests).</summary>
public sealed class BrokerIdentitySettingsTests
{
    [Fact]
    public async Task Without_a_management_api_the_service_says_once_that_it_does_not_manage_broker_identities_and_enrolls_as_before()
    {
        await using var host = await CredentialsHost.StartAsync();

        var enrolled = await host.Enroll("plain.device:1");

        Assert.Null(enrolled.Provisioning);
        Assert.Single(host.Logs.Lines, l => l.Contains("broker identities are not managed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_managed_broker_identities_an_id_that_cannot_be_a_broker_user_is_refused_before_the_broker_is_asked()
    {
        await using var host = await CredentialsHost.StartAsync(new Dictionary<string, string?>
        {
            // Nothing listens there: a call would fail the request instead of refusing the row.
            ["Credentials:DeviceBroker:ManagementUri"] = $"http://127.0.0.1:{Decommission.Testing.Decom.ClosedPort()}/",
            ["Credentials:DeviceBroker:Username"] = "credentials-devices",
            ["Credentials:DeviceBroker:Password"] = "not-used",
        });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var response = await host.Harness.GetRequestClient<EnrollDevice>().GetResponse<DeviceEnrolled, EnrollmentRejected>(new EnrollDevice
        {
            DeviceId = "plant.7:a", AttestationPublicKey = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()),
            NetworkSegment = "floor", RequestedBy = "test",
        });

        Assert.True(response.Is(out Response<EnrollmentRejected>? rejected));
        Assert.Contains("1-64 letters, digits, '-' or '_'", Assert.Single(rejected!.Message.Problems).Problem);
    }

    [Fact]
    public async Task A_missing_command_signing_key_fails_the_enrollment_before_anything_is_enrolled()
    {
        var directory = Decommission.Testing.ServiceUnderTest.NewDataDirectory();
        await using var host = await CredentialsHost.StartAsync(new Dictionary<string, string?>
        {
            ["Credentials:Provisioning:MqttServers:0"] = "127.0.0.1:8883",
            ["Credentials:Provisioning:BrokerCaCertificatePath"] = Path.Combine(directory, "absent-ca.pem"),
            ["Credentials:Provisioning:CommandSigningPublicKeyPaths:0"] = Path.Combine(directory, "absent.pub.pem"),
        });

        await Assert.ThrowsAsync<RequestFaultException>(() => host.Enroll("early-device"));

        Assert.Empty(host.Gateway.Registered);
    }
}
