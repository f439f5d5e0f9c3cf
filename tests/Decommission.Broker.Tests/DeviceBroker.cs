using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Decommission.Credentials.Broker;
using Decommission.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace Decommission.Broker.Tests;

/// <summary>
/// The device side of the node ops/test.sh starts: its MQTT-over-TLS listener, its TLS material (ops/pki.sh) with the test
/// fleet CA, and the per-device broker identities the credentials service makes (<see cref="DeviceBrokerIdentities"/>, through
/// the node's management API as guest, an administrator there). The services' side is played by guest over AMQPS,
/// publishing commands on amq.topic in the devices' virtual host. Fails loudly when the node is absent.
/// </summary>
public sealed class DeviceBroker : IDisposable
{
    public const string VirtualHost = "iot";

    public int MqttsPort { get; } = int.Parse(Required("DECOM_TEST_MQTTS_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    public int AmqpsPort { get; } = int.Parse(Required("DECOM_TEST_AMQPS_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    public string PkiDirectory { get; } = Required("DECOM_TEST_PKI_DIR");

    /// <summary>What clients trust to reach the broker.</summary>
    public string BrokerCaPath => Path.Combine(PkiDirectory, "ca.crt");

    public string FleetCaCertificatePath => Path.Combine(PkiDirectory, "fleet.crt");

    public string FleetCaKeyPath => Path.Combine(PkiDirectory, "fleet.key");

    public int ManagementPort { get; } = int.Parse(Required("DECOM_TEST_MANAGEMENT_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    private readonly DeviceBrokerIdentities _identities;

    public DeviceBroker() => _identities = Identities("guest");

    /// <summary>The credentials service's broker identities on this node, logged into its management API as guest with <paramref name="password"/>.</summary>
    public DeviceBrokerIdentities Identities(string password) => new(Options.Create(ManagementSettings(password)), NullLogger<DeviceBrokerIdentities>.Instance);

    public DeviceBrokerOptions ManagementSettings(string password = "guest") => new()
    {
        ManagementUri = $"http://127.0.0.1:{ManagementPort}/", Username = "guest", Password = password, VirtualHost = VirtualHost,
    };

    private static string Required(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(value))
            throw new InvalidOperationException(
                $"{variable} is not set: these tests need the RabbitMQ node (MQTT over TLS, its PKI) that ops/test.sh starts. Run them with ops/test.sh.");
        return value;
    }

    /// <summary>The device's own broker user and permissions, as enrollment makes them.</summary>
    public Task AddDeviceAsync(string deviceId) => _identities.AddAsync([deviceId], CancellationToken.None);

    /// <summary>Quarantine at the broker: only the decommission topics are left to the device, and its connections are closed.</summary>
    public Task QuarantineDeviceAsync(string deviceId) => _identities.QuarantineAsync(deviceId, CancellationToken.None);

    /// <summary>Revocation at the broker: the device's user and session queues go.</summary>
    public Task RemoveDeviceAsync(string deviceId) => _identities.RemoveAsync(deviceId, CancellationToken.None);

    /// <summary>Lists the certificate on the test fleet CA's CRL (rewritten and re-hashed by ops/pki.sh).</summary>
    public Task RevokeAsync(DeviceIdentity identity) => OpsScripts.RunAsync("ops/pki.sh", "revoke", PkiDirectory, "fleet", identity.CertificatePath);

    /// <summary>A command to the device as the services send it: persistent, on its command topic, routed or an error.</summary>
    public async Task PublishCommandAsync(string deviceId, string payload)
    {
        await using var connection = await ServicesFactory().CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        // Mandatory: a command nobody's session queue takes fails here rather than vanishing.
        await channel.BasicPublishAsync("amq.topic", $"devices.{deviceId}.commands", mandatory: true,
            new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(payload));
    }

    /// <summary>The services' side: guest (an administrator) over AMQPS with a password, no client certificate.</summary>
    public ConnectionFactory ServicesFactory(string virtualHost = VirtualHost) => new()
    {
        HostName = "127.0.0.1",
        Port = AmqpsPort,
        VirtualHost = virtualHost,
        UserName = "guest",
        Password = "guest",
        Ssl = new SslOption
        {
            Enabled = true,
            ServerName = "localhost",
            CertificateValidationCallback = (_, certificate, _, _) => IssuedByBrokerCa(certificate),
        },
    };

    public bool IssuedByBrokerCa(X509Certificate? certificate)
    {
        if (certificate is null)
            return false;
        using var root = X509CertificateLoader.LoadCertificateFromFile(BrokerCaPath);
        using var leaf = new X509Certificate2(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    public void Dispose() => _identities.Dispose();
}
