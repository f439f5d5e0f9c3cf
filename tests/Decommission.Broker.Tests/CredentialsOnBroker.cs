using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Cli;
using Decommission.Contracts;
using Decommission.Credentials;
using Decommission.DeviceProtocol;
using Decommission.Testing;
using MassTransit;
using MassTransit.Testing;

namespace Decommission.Broker.Tests;

/// <summary>
/// The real credentials service (ServiceUnderTest, MassTransit's harness as its bus) managing devices' broker identities on
/// the node's management API and provisioning devices for its MQTT listener; its fleet CA is the test fleet CA the node
/// trusts (as a PFX). The device gateway's side of enrollment is played: every identity is registered.
/// </summary>
public sealed class CredentialsOnBroker : IAsyncLifetime
{
    private readonly string _directory = ServiceUnderTest.NewDataDirectory();
    private ServiceUnderTest _service = null!;

    public DeviceBroker Broker { get; } = new();

    public string PasswordFile => Path.Combine(_directory, "management.password");

    public string GatewayPublicKeyPath => Path.Combine(_directory, "command-signing.pub.pem");

    public ITestHarness Harness => _service.Harness;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var pfx = Path.Combine(_directory, "fleet.pfx");
        using (var ca = X509Certificate2.CreateFromPemFile(Broker.FleetCaCertificatePath, Broker.FleetCaKeyPath))
            await File.WriteAllBytesAsync(pfx, ca.Export(X509ContentType.Pkcs12, "test"));
        using (var gatewayKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            await File.WriteAllTextAsync(GatewayPublicKeyPath, gatewayKey.ExportSubjectPublicKeyInfoPem());
        await File.WriteAllTextAsync(PasswordFile, "guest\n");
        _service = await ServiceUnderTest.StartAsync(new ServiceUnderTestOptions
        {
            Settings = directory => new Dictionary<string, string?>
            {
                ["Credentials:DatabasePath"] = Path.Combine(directory, "credentials.db"),
                ["Credentials:DataDirectory"] = directory,
                ["Credentials:KdfIterations"] = "1000",
                ["Credentials:CaPfxPath"] = pfx,
                ["Credentials:CaPfxPassword"] = "test",
                ["Credentials:DeviceBroker:ManagementUri"] = Broker.ManagementSettings().ManagementUri,
                ["Credentials:DeviceBroker:Username"] = "guest",
                ["Credentials:DeviceBroker:PasswordFile"] = PasswordFile,
                ["Credentials:DeviceBroker:VirtualHost"] = DeviceBroker.VirtualHost,
                ["Credentials:Provisioning:MqttServers:0"] = $"127.0.0.1:{Broker.MqttsPort}",
                ["Credentials:Provisioning:BrokerCaCertificatePath"] = Broker.BrokerCaPath,
                ["Credentials:Provisioning:CommandSigningPublicKeyPaths:0"] = GatewayPublicKeyPath,
                ["Credentials:Provisioning:CommandSigningPublicKeyPaths:1"] = Path.Combine(_directory, "absent-next.pub.pem"),
            },
            AddService = builder => builder.AddCredentialsService(),
            PlayedServices = bus => bus.AddHandler<RegisterDeviceIdentities>(context => context.RespondAsync(new DeviceIdentitiesRegistered
            {
                Registered = context.Message.Identities.Select(i => i.DeviceId).ToList(), Refused = [],
            })).Endpoint(e => e.Name = QueueNames.RegisterDeviceIdentities),
        });
    }

    /// <summary>Enrolls the device with its attestation key; its provisioning bundle as decom makes it.</summary>
    public async Task<ProvisioningBundle> EnrollAsync(string deviceId, ECDsa attestationKey)
    {
        var response = await Harness.GetRequestClient<EnrollDevice>().GetResponse<DeviceEnrolled, EnrollmentRejected>(new EnrollDevice
        {
            DeviceId = deviceId, AttestationPublicKey = Convert.ToBase64String(attestationKey.ExportSubjectPublicKeyInfo()),
            NetworkSegment = "plant-floor", RequestedBy = "test",
        });
        if (!response.Is(out Response<DeviceEnrolled>? enrolled))
        {
            response.Is(out Response<EnrollmentRejected>? rejected);
            throw new Xunit.Sdk.XunitException(string.Join("; ", rejected!.Message.Problems.Select(p => p.Problem)));
        }
        return ProvisioningBundles.For(enrolled.Message, enrolled.Message.Provisioning ?? throw new Xunit.Sdk.XunitException("no provisioning in the answer"));
    }

    /// <summary>The inventory's admission and the orchestrator's order, as the credentials service hears them; returns once quarantined.</summary>
    public async Task QuarantineAsync(string deviceId, Guid retirementId)
    {
        await Harness.Bus.Publish(new RetirementAccepted { RetirementId = retirementId, DeviceId = deviceId, Device = new DeviceSnapshot() });
        await Eventually.True(() => Harness.Consumed.Select<RetirementAccepted>(m => m.Context.Message.RetirementId == retirementId).Any(),
            "the admission to be recorded");
        await Harness.Bus.Publish(new QuarantineDevice { RetirementId = retirementId, DeviceId = deviceId });
        await Eventually.True(() => BusTraffic.Of<DeviceQuarantined>(Harness).Any(m => m.RetirementId == retirementId),
            $"{deviceId} to be quarantined");
    }

    /// <summary>The same quarantine order once more (a re-drive, a redelivery), answered again.</summary>
    public async Task QuarantineAgainAsync(string deviceId, Guid retirementId)
    {
        await Harness.Bus.Publish(new QuarantineDevice { RetirementId = retirementId, DeviceId = deviceId });
        await Eventually.True(() => BusTraffic.Of<DeviceQuarantined>(Harness).Count(m => m.RetirementId == retirementId) >= 2,
            $"{deviceId}'s repeated quarantine to be answered");
    }

    /// <summary>The orchestrator's order after the verified wipe (the retirement admitted and quarantined before).</summary>
    public Task RevokeAsync(string deviceId, Guid retirementId) =>
        Harness.Bus.Publish(new RevokeIdentity { RetirementId = retirementId, DeviceId = deviceId });

    public bool Revoked(Guid retirementId) => BusTraffic.Of<IdentityRevoked>(Harness).Any(m => m.RetirementId == retirementId);

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        Broker.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
