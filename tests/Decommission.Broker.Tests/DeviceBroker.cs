using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Decommission.Testing;
using RabbitMQ.Client;

namespace Decommission.Broker.Tests;

/// <summary>
/// The device side of the node ops/test.sh starts: its MQTT-over-TLS listener, its TLS material (ops/pki.sh) with the test
/// fleet CA, and the per-device broker identities ops/broker-devices.sh makes. The services' side is played by guest over
/// AMQPS, publishing commands on amq.topic in the devices' virtual host. Fails loudly when the node is absent.
/// </summary>
public sealed class DeviceBroker
{
    public const string VirtualHost = "iot";

    public int MqttsPort { get; } = int.Parse(Required("DECOM_TEST_MQTTS_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    public int AmqpsPort { get; } = int.Parse(Required("DECOM_TEST_AMQPS_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    public string PkiDirectory { get; } = Required("DECOM_TEST_PKI_DIR");

    /// <summary>What clients trust to reach the broker.</summary>
    public string BrokerCaPath => Path.Combine(PkiDirectory, "ca.crt");

    public string FleetCaCertificatePath => Path.Combine(PkiDirectory, "fleet.crt");

    public string FleetCaKeyPath => Path.Combine(PkiDirectory, "fleet.key");

    private readonly string _state = Required("DECOM_TEST_RABBITMQ_STATE");

    private static string Required(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(value))
            throw new InvalidOperationException(
                $"{variable} is not set: these tests need the RabbitMQ node (MQTT over TLS, its PKI) that ops/test.sh starts. Run them with ops/test.sh.");
        return value;
    }

    /// <summary>The device's own broker user and permissions, as enrollment will make them (ops/broker-devices.sh).</summary>
    public Task AddDeviceAsync(string deviceId) => RunAsync("device_broker_add", VirtualHost, deviceId);

    /// <summary>Quarantine at the broker: only the decommission topics are left to the device, and its connections are closed.</summary>
    public Task QuarantineDeviceAsync(string deviceId) => RunAsync("device_broker_quarantine", VirtualHost, deviceId);

    /// <summary>Revocation at the broker: the device's user and session queues go.</summary>
    public Task RemoveDeviceAsync(string deviceId) => RunAsync("device_broker_remove", VirtualHost, deviceId);

    /// <summary>Lists the certificate on the test fleet CA's CRL (rewritten and re-hashed by ops/pki.sh).</summary>
    public async Task RevokeAsync(DeviceIdentity identity)
    {
        var start = new ProcessStartInfo(Path.Combine(Repository.Root, "ops", "pki.sh")) { WorkingDirectory = Repository.Root };
        foreach (var argument in new[] { "revoke", PkiDirectory, "fleet", identity.CertificatePath })
            start.ArgumentList.Add(argument);
        var run = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(1));
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"ops/pki.sh revoke failed ({run.ExitCode}):\n{run.Output}\n{run.Error}");
    }

    /// <summary>A command to the device as the services send it: persistent, on its command topic, routed or an error.</summary>
    public async Task PublishCommandAsync(string deviceId, string payload)
    {
        var factory = new ConnectionFactory
        {
            HostName = "127.0.0.1",
            Port = AmqpsPort,
            VirtualHost = VirtualHost,
            UserName = "guest",
            Password = "guest",
            Ssl = new SslOption
            {
                Enabled = true,
                ServerName = "localhost",
                CertificateValidationCallback = (_, certificate, _, _) => IssuedByBrokerCa(certificate),
            },
        };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        // Mandatory: a command nobody's session queue takes fails here rather than vanishing.
        await channel.BasicPublishAsync("amq.topic", $"devices.{deviceId}.commands", mandatory: true,
            new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(payload));
    }

    private bool IssuedByBrokerCa(X509Certificate? certificate)
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

    private async Task RunAsync(string function, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = Repository.Root };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("""
            set -euo pipefail
            . ops/rabbitmq-node.sh
            . "$DECOM_TEST_RABBITMQ_STATE"
            . ops/broker-devices.sh
            "$@"
            """);
        start.ArgumentList.Add("ops/broker-devices.sh");
        start.ArgumentList.Add(function);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["DECOM_TEST_RABBITMQ_STATE"] = _state;
        var run = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(1));
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"{function} {string.Join(' ', arguments)} failed ({run.ExitCode}):\n{run.Output}\n{run.Error}");
    }
}

public static class Repository
{
    /// <summary>The checkout the tests were built from: where ops/ lives.</summary>
    public static string Root { get; } = Find(AppContext.BaseDirectory);

    private static string Find(string from)
    {
        for (var directory = new DirectoryInfo(from); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "ops", "pki.sh")))
                return directory.FullName;
        throw new InvalidOperationException($"no ops/pki.sh above {from}");
    }
}
