using System.Text.RegularExpressions;
using Decommission.Topology;

namespace Decommission.Deployment.Tests;

/// <summary>
/// docker-compose.yml speaks TLS (issue 16): the services reach the broker over AMQPS only, checking its certificate against
/// the broker CA the pki step makes; devices reach it over MQTT with TLS and their identity certificates; the CA keys stay
/// with the pki step and the credentials service. Checked in the files: no Docker engine runs here.
/// </summary>
public sealed partial class ComposeFileTlsTests
{
    private const int AmqpsPort = 5671;
    private const int MqttsPort = 8883;
    private const int ManagementPort = 15672;

    // Each broker address setting, and the setting naming the CA the broker's certificate must chain to.
    private static readonly Dictionary<string, string> CaSettingOf = new(StringComparer.Ordinal)
    {
        ["Bus__RabbitMqUri"] = "Bus__BrokerCaCertificatePath",
        ["DeviceGateway__DeviceBrokerUri"] = "DeviceGateway__DeviceBrokerCaCertificatePath",
    };

    private readonly ComposeFile _compose = ComposeFile.Load();
    private readonly ComposeFileBroker _broker;
    private readonly ComposeService _pki;

    public ComposeFileTlsTests()
    {
        _broker = ComposeFileBroker.Of(_compose);
        _pki = Assert.Single(_compose.Services.Values, s => s.Volumes.Any(v => v.Source.EndsWith(ComposePki.Script, StringComparison.Ordinal)));
    }

    [Fact]
    public void No_service_reaches_the_broker_in_plain_text()
    {
        var plain = _compose.Services.Values
            .SelectMany(s => s.Environment.Where(e => Uri.TryCreate(e.Value, UriKind.Absolute, out var uri) && uri.Scheme == "amqp").Select(e => $"{s.Name}: {e.Key}"))
            .ToList();
        Assert.True(plain.Count == 0, $"plain AMQP addresses: {string.Join(", ", plain)}");

        var addresses = BrokerAddresses().ToList();
        Assert.Contains(addresses, a => a.Setting == "DeviceGateway__DeviceBrokerUri");
        Assert.All(addresses, a => Assert.True(a.Uri is { Scheme: "amqps", Port: AmqpsPort } && a.Uri.Host == _compose.Broker.Name,
            $"{a.Service.Name}: {a.Setting} is {a.Uri.Scheme}://…@{a.Uri.Host}:{a.Uri.Port}, not the broker's AMQPS listener"));
    }

    [Fact]
    public void Every_TLS_connection_checks_the_broker_against_the_broker_CA_of_the_pki_step()
    {
        var brokerCa = PkiVolume("BROKER_CA_DIR");
        var checks = BrokerAddresses().Select(a => (a.Service, Setting: CaSettingOf[a.Setting]))
            .Append((_compose.Services["credentials"], "Credentials__Provisioning__BrokerCaCertificatePath"));
        foreach (var (service, setting) in checks)
        {
            var path = service.Environment.GetValueOrDefault(setting);
            Assert.True(!string.IsNullOrEmpty(path), $"{service.Name}: {setting} is not set");
            Assert.True(MountOf(service, path) is { ReadOnly: true } mount && mount.Source == brokerCa && Path.GetFileName(path) == "ca.crt",
                $"{service.Name}: {setting}={path} is not ca.crt on a read-only mount of {brokerCa}, where the pki step puts the broker CA");
        }
    }

    [Fact]
    public void The_broker_listens_in_plain_text_for_neither_AMQP_nor_MQTT_and_publishes_only_its_TLS_listeners_and_the_UI()
    {
        Assert.Equal("none", _broker.Settings.GetValueOrDefault("listeners.tcp"));
        Assert.Equal("none", _broker.Settings.GetValueOrDefault("mqtt.listeners.tcp"));
        Assert.Equal($"{AmqpsPort}", _broker.Settings.GetValueOrDefault("listeners.ssl.default"));
        Assert.Equal($"{MqttsPort}", _broker.Settings.GetValueOrDefault("mqtt.listeners.ssl.default"));

        var ports = _compose.Broker.Ports;
        Assert.All(ports, p => Assert.Contains(p.ContainerPort, new[] { AmqpsPort, MqttsPort, ManagementPort }));
        Assert.Contains(ports, p => p.ContainerPort == MqttsPort);
        // The operator's AMQPS and the management UI from this machine only.
        Assert.All(ports.Where(p => p.ContainerPort != MqttsPort), p => Assert.Equal("127.0.0.1", p.HostAddress));
    }

    [Fact]
    public void Devices_log_in_over_MQTT_with_TLS_by_their_certificate_alone_checked_against_the_CRL()
    {
        Assert.Equal("common_name", _broker.Settings.GetValueOrDefault("ssl_cert_login_from"));
        Assert.Equal("false", _broker.Settings.GetValueOrDefault("mqtt.allow_anonymous"));
        Assert.Equal("true", _broker.Settings.GetValueOrDefault("mqtt.ssl_cert_login"));
        Assert.Equal(DeviceIdentityAdministrator.VirtualHost, _broker.Settings.GetValueOrDefault("mqtt.vhost"));
        Assert.Equal("infinity", _broker.Settings.GetValueOrDefault("mqtt.subscription_ttl"));
        Assert.Contains("rabbitmq_mqtt", _broker.Plugins);
        Assert.Contains("rabbitmq_management", _broker.Plugins);

        Assert.True(_broker.HasOption("verify", "verify_peer"), "advanced.config: no {verify, verify_peer}");
        Assert.True(_broker.HasOption("crl_check", "peer"), "advanced.config: no {crl_check, peer}");
        Assert.Contains("ssl_crl_hash_dir", _broker.AdvancedConfig, StringComparison.Ordinal);
        // A client certificate is required on MQTT alone (rabbitmq_mqtt's listen options): services log in with passwords.
        var mqttSection = _broker.AdvancedConfig.IndexOf("rabbitmq_mqtt", StringComparison.Ordinal);
        var required = _broker.AdvancedConfig.IndexOf("fail_if_no_peer_cert", StringComparison.Ordinal);
        Assert.True(mqttSection >= 0 && required > mqttSection && _broker.HasOption("fail_if_no_peer_cert", "true"),
            "advanced.config: {fail_if_no_peer_cert, true} is not in rabbitmq_mqtt's tcp_listen_options");

        // What it reads is what the pki step put on the broker-tls volume.
        var tls = Assert.Single(_compose.Broker.Volumes, v => v.Source == PkiVolume("BROKER_TLS_DIR"));
        Assert.Equal(["client-cas.pem", "crl", "server.crt", "server.key"],
            _broker.AdvancedConfigPaths.Select(path => Path.GetRelativePath(tls.Target, path)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_broker_is_the_RabbitMQ_ops_is_proven_with_and_starts_after_the_pki_step()
    {
        Assert.Equal("rabbitmq:3.10-management", _compose.Broker.Image);
        Assert.Equal(_compose.Broker.Image, _pki.Image);
        Assert.Equal("service_completed_successfully", _compose.Broker.DependsOn.GetValueOrDefault(_pki.Name));
        Assert.Contains(_pki.Volumes, v => v.Source == "./ops/pki.sh" && v.ReadOnly);
    }

    [Fact]
    public void The_CA_keys_reach_no_container_but_the_pki_step_and_the_fleet_CA_the_credentials_service_alone()
    {
        var pkiDirectory = ComposePki.Default("PKI_DIR");
        var keys = Assert.Single(_pki.Volumes, v => pkiDirectory.StartsWith(v.Target.TrimEnd('/') + "/", StringComparison.Ordinal));
        Assert.Equal([_pki.Name], _compose.Mounting(keys.Source).Select(s => s.Name));

        var credentials = _compose.Services["credentials"];
        var fleetCa = PkiVolume("FLEET_CA_DIR");
        Assert.Equal(new[] { _pki.Name, credentials.Name }.Order(StringComparer.Ordinal), _compose.Mounting(fleetCa).Select(s => s.Name).Order(StringComparer.Ordinal));
        var pfx = credentials.Environment["Credentials__CaPfxPath"];
        Assert.True(MountOf(credentials, pfx) is { ReadOnly: true } mount && mount.Source == fleetCa && Path.GetFileName(pfx) == "fleet-ca.pfx",
            $"Credentials__CaPfxPath={pfx} is not the pki step's fleet-ca.pfx on a read-only mount of {fleetCa}");
        Assert.False(string.IsNullOrEmpty(credentials.Environment["Credentials__CaPfxPassword"]));
        Assert.Equal(_pki.Environment["FLEET_CA_PFX_PASSWORD"], credentials.Environment["Credentials__CaPfxPassword"]);
    }

    [Fact]
    public void The_broker_reads_the_CRLs_the_credentials_service_publishes()
    {
        var credentials = _compose.Services["credentials"];
        var crls = Path.Combine(credentials.Environment["Credentials__DataDirectory"], "crl");
        var published = Assert.Single(credentials.Volumes, v => v.Target.TrimEnd('/') == crls);
        Assert.Contains(_compose.Mounting(published.Source), s => s.Name == _pki.Name);
        var read = Assert.Single(_compose.Broker.Volumes, v => v.Source == published.Source);
        Assert.True(read.ReadOnly);
        Assert.Equal($"{read.Target.TrimEnd('/')}/fleet.crl", FleetCrlSync.Default("FLEET_CRL_PUBLISHED"));
        // Run by compose-start.sh, from beside it; installed into the CRL directory advanced.config names.
        var start = Assert.Single(_compose.Broker.Volumes, v => v.Source.EndsWith("/compose-start.sh", StringComparison.Ordinal));
        Assert.Contains(_compose.Broker.Volumes, v => v.Source.EndsWith(FleetCrlSync.Script, StringComparison.Ordinal)
            && v.Target == Path.Combine(Path.GetDirectoryName(start.Target)!, Path.GetFileName(FleetCrlSync.Script)));
        Assert.Contains(FleetCrlSync.Default("BROKER_CRL_DIR"), _broker.AdvancedConfigPaths);
    }

    [Fact]
    public void The_credentials_service_manages_device_identities_as_the_catalogues_management_user()
    {
        var credentials = _compose.Services["credentials"];
        Assert.Equal(DeviceIdentityAdministrator.Name, credentials.Environment.GetValueOrDefault("Credentials__DeviceBroker__Username"));
        var password = credentials.Environment.GetValueOrDefault("Credentials__DeviceBroker__Password");
        Assert.False(string.IsNullOrEmpty(password), "Credentials__DeviceBroker__Password is not set");
        // compose-start.sh sets each user's password from BROKER_PASSWORD_<USER>.
        var variable = "BROKER_PASSWORD_" + DeviceIdentityAdministrator.Name.ToUpperInvariant().Replace('-', '_');
        Assert.Equal(password, _compose.Broker.Environment.GetValueOrDefault(variable));

        var management = new Uri(credentials.Environment["Credentials__DeviceBroker__ManagementUri"]);
        Assert.Equal(_compose.Broker.Name, management.Host);
        Assert.Equal(ManagementPort, management.Port);
        Assert.Equal("service_healthy", credentials.DependsOn.GetValueOrDefault(_compose.Broker.Name));
    }

    [Fact]
    public void Enrollment_provisions_devices_with_the_published_MQTT_listener_the_broker_CA_and_the_gateways_key()
    {
        var credentials = _compose.Services["credentials"];
        var server = credentials.Environment.GetValueOrDefault("Credentials__Provisioning__MqttServers__0") ?? "";
        Assert.Matches(HostAndPort(), server);
        Assert.EndsWith($":{MqttsPort}", server, StringComparison.Ordinal);
        Assert.Contains(_compose.Broker.Ports, p => p.ContainerPort == MqttsPort && p.Published == $"{MqttsPort}");
        // Devices check the broker's certificate against the name they were given.
        string[] certified = ["localhost", "127.0.0.1", _compose.Broker.Name, .. (_pki.Environment.GetValueOrDefault("BROKER_HOSTNAMES") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        Assert.Contains(server[..server.LastIndexOf(':')], certified);

        // The gateway's command-signing public key, through the volume it exports it to.
        var gateway = _compose.Services["device-gateway"];
        var exported = gateway.Environment["DeviceGateway__PublicKeyExportPath"];
        var given = credentials.Environment.GetValueOrDefault("Credentials__Provisioning__CommandSigningPublicKeyPaths__0") ?? "";
        var (gatewayMount, credentialsMount) = (MountOf(gateway, exported), MountOf(credentials, given));
        Assert.True(gatewayMount is not null && credentialsMount is { ReadOnly: true } && gatewayMount.Source == credentialsMount.Source
            && Path.GetRelativePath(gatewayMount.Target, exported) == Path.GetRelativePath(credentialsMount.Target, given),
            $"Credentials__Provisioning__CommandSigningPublicKeyPaths__0={given} is not the gateway's {exported} through a shared volume");
    }

    private IEnumerable<(ComposeService Service, string Setting, Uri Uri)> BrokerAddresses() =>
        _compose.Services.Values.SelectMany(s => CaSettingOf.Keys.Where(s.Environment.ContainsKey).Select(k => (s, k, new Uri(s.Environment[k]))));

    /// <summary>The named volume the pki step writes into the directory compose-pki.sh's <paramref name="variable"/> names.</summary>
    private string PkiVolume(string variable)
    {
        var directory = ComposePki.Default(variable);
        var mount = Assert.Single(_pki.Volumes, v => v.Target.TrimEnd('/') == directory);
        Assert.Contains(mount.Source, _compose.NamedVolumes);
        return mount.Source;
    }

    private VolumeMount? MountOf(ComposeService service, string path) =>
        service.Volumes.Where(v => _compose.NamedVolumes.Contains(v.Source) && path.StartsWith(v.Target.TrimEnd('/') + "/", StringComparison.Ordinal))
            .MaxBy(v => v.Target.Length);

    [GeneratedRegex(@"^[A-Za-z0-9.-]+:[0-9]+$")]
    private static partial Regex HostAndPort();
}
