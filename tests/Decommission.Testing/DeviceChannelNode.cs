using Decommission.Credentials.Broker;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Decommission.DeviceProtocol;

namespace Decommission.Testing;

/// <summary>
/// The device channel of the node ops/test.sh starts: MQTT over TLS for devices and AMQPS for the gateway in the devices'
/// virtual host, the broker's CA, and the test fleet CA the node trusts (ops/pki.sh). Provisions devices as enrollment
/// will: an identity certificate from the test fleet CA over the device's attestation key, the device's broker user
/// (the credentials service's rules, many devices in one import), and its bundle. Fails loudly when the node is absent.
/// </summary>
public sealed class DeviceChannelNode
{
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    public int MqttsPort { get; } = int.Parse(Required("DECOM_TEST_MQTTS_PORT"), CultureInfo.InvariantCulture);

    public int AmqpsPort { get; } = int.Parse(Required("DECOM_TEST_AMQPS_PORT"), CultureInfo.InvariantCulture);

    public string PkiDirectory { get; } = Required("DECOM_TEST_PKI_DIR");

    /// <summary>What clients trust to reach the broker.</summary>
    public string BrokerCaPath => Path.Combine(PkiDirectory, "ca.crt");

    /// <summary>The gateway's side over AMQPS: guest, who has every right in the devices' virtual host on the test node.</summary>
    public Uri GatewayUri => new($"amqps://guest:guest@127.0.0.1:{AmqpsPort}/{DeviceChannelNames.VirtualHost}");

    /// <summary>Plain AMQP to the devices' virtual host as guest, to look at queues or play an attacker with extra rights.</summary>
    public Uri AdminUri => new UriBuilder(Required(RabbitMqNode.Variable)) { Path = "/" + DeviceChannelNames.VirtualHost }.Uri;

    /// <summary>A receipt queue of this test assembly's own: assemblies run in parallel on the one devices' virtual host.</summary>
    public static string ReceiptQueue => $"{DeviceChannelNames.ReceiptQueue}.{RabbitMqNode.Uri.AbsolutePath.Trim('/')}";


    private static string Required(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(value))
            throw new InvalidOperationException(
                $"{variable} is not set: these tests need the RabbitMQ node (MQTT over TLS, its PKI) that ops/test.sh starts. Run them with ops/test.sh.");
        return value;
    }

    /// <summary>Identity certificates, broker users and bundles for <paramref name="attestationKeys"/> (device id → SubjectPublicKeyInfo),
    /// each bundle written whole into <paramref name="directory"/> as <c>&lt;id&gt;.json</c>.</summary>
    public async Task ProvisionAsync(string directory, IReadOnlyDictionary<string, byte[]> attestationKeys, byte[] gatewayPublicKey)
    {
        await AddDevicesAsync(attestationKeys.Keys);
        foreach (var (deviceId, key) in attestationKeys)
            WriteBundle(directory, Bundle(deviceId, key, gatewayPublicKey));
    }

    public ProvisioningBundle Bundle(string deviceId, byte[] attestationPublicKey, byte[] gatewayPublicKey) => new()
    {
        DeviceId = deviceId,
        IdentityCertificate = IssueIdentityCertificate(deviceId, attestationPublicKey),
        FleetCaCertificate = File.ReadAllText(Path.Combine(PkiDirectory, "fleet.crt")),
        BrokerCaCertificate = File.ReadAllText(BrokerCaPath),
        CommandSigningKeys = [new CommandSigningPublicKey { KeyId = ProtocolSigning.KeyId(gatewayPublicKey), PublicKey = Convert.ToBase64String(gatewayPublicKey) }],
        Mqtt = MqttEndpoint.For(deviceId, [$"127.0.0.1:{MqttsPort}"]),
    };

    /// <summary>Written beside, then renamed: the agent never reads half a bundle.</summary>
    public static void WriteBundle(string directory, ProvisioningBundle bundle)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, ProvisioningBundle.FileName(bundle.DeviceId));
        File.WriteAllText(path + ".tmp", bundle.ToJson());
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>PEM: CN = device id, over the device's attestation key, issued by the test fleet CA (what the broker trusts).</summary>
    public string IssueIdentityCertificate(string deviceId, byte[] attestationPublicKey)
    {
        using var ca = X509Certificate2.CreateFromPemFile(Path.Combine(PkiDirectory, "fleet.crt"), Path.Combine(PkiDirectory, "fleet.key"));
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(attestationPublicKey, out _);
        return IssueIdentityCertificate(ca, deviceId, key);
    }

    /// <summary>PEM: a device identity certificate as the fleet CA issues it (CN = device id, client authentication) over
    /// <paramref name="key"/>'s public half, signed by <paramref name="ca"/> (with its private key).</summary>
    public static string IssueIdentityCertificate(X509Certificate2 ca, string deviceId, ECDsa key)
    {
        var request = new CertificateRequest(new X500DistinguishedName($"CN={deviceId}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ClientAuthentication], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        var now = DateTimeOffset.UtcNow;
        // The test fleet CA is minutes old: a certificate may not predate its issuer.
        var notBefore = new[] { now.AddMinutes(-5), new DateTimeOffset(ca.NotBefore.ToUniversalTime()) }.Max();
        using var certificate = request.Create(ca, notBefore, now.AddDays(1), serial);
        return certificate.ExportCertificatePem();
    }

    /// <summary>The devices' own broker users and permissions (the credentials service's rules, <see cref="DeviceBrokerRules"/>),
    /// all in one import_definitions.</summary>
    public Task AddDevicesAsync(IEnumerable<string> deviceIds) => ImportAsync(DeviceBrokerRules.Definitions(DeviceChannelNames.VirtualHost, deviceIds));

    /// <summary>Closes the device's live connections from the broker's side (as quarantine does; close_connection does not
    /// reach MQTT connections on RabbitMQ 3.10).</summary>
    public Task DisconnectDeviceAsync(string deviceId) => RunAsync(
        """rmq_ctl eval "rabbit_connection_tracking:close_connections(rabbit_connection_tracking:list_of_user(<<\"$1\">>), \"test\", 0)." >/dev/null""",
        [deviceId]);

    /// <summary>A password user of the devices' virtual host with the given rights, as ops/broker-users.sh gives a catalogue user's.</summary>
    public async Task AddServiceUserAsync(string user, string password, string configure, string write, string read, string topicWrite, string topicRead)
    {
        // RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ SHA-256(salt ++ password)), a 4-byte salt.
        var salt = RandomNumberGenerator.GetBytes(4);
        var hash = Convert.ToBase64String([.. salt, .. SHA256.HashData([.. salt, .. System.Text.Encoding.UTF8.GetBytes(password)])]);
        var vhost = DeviceChannelNames.VirtualHost;
        var definitions = new JsonObject
        {
            ["users"] = new JsonArray(new JsonObject { ["name"] = user, ["password_hash"] = hash, ["hashing_algorithm"] = "rabbit_password_hashing_sha256", ["tags"] = new JsonArray() }),
            ["permissions"] = new JsonArray(new JsonObject { ["user"] = user, ["vhost"] = vhost, ["configure"] = configure, ["write"] = write, ["read"] = read }),
            ["topic_permissions"] = new JsonArray(new JsonObject
            {
                ["user"] = user, ["vhost"] = vhost, ["exchange"] = DeviceChannelNames.TopicExchange, ["write"] = topicWrite, ["read"] = topicRead,
            }),
        };
        await ImportAsync(definitions);
    }

    // The management API's definitions import (what rabbitmqctl import_definitions runs too, without starting a CLI VM: each
    // rabbitmqctl call costs a second or more); rabbitmqctl when the node's management port is not known.
    private static readonly HttpClient Management = new() { Timeout = TimeSpan.FromSeconds(60) };

    private async Task ImportAsync(JsonObject definitions)
    {
        if (Environment.GetEnvironmentVariable("DECOM_TEST_MANAGEMENT_PORT") is { Length: > 0 } port)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/api/definitions")
            {
                Content = new StringContent(definitions.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("guest:guest"u8.ToArray()));
            using var response = await Management.SendAsync(request);
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"the node refused the definitions import: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return;
        }
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, definitions.ToJsonString());
            await RunAsync("""rmq_ctl import_definitions >/dev/null <"$1" """, [file]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Runs <paramref name="script"/> against the test node (rmq_ctl); its output.</summary>
    private static Task<string> RunAsync(string script, IEnumerable<string> arguments) => OpsScripts.RunOnNodeAsync(script, arguments);
}
