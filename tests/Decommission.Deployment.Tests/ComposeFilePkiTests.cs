using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Decommission.Testing;

namespace Decommission.Deployment.Tests;

/// <summary>ops/rabbitmq/compose-pki.sh, the compose `pki` step: its directories (defaults, which docker-compose.yml mounts).</summary>
public static class ComposePki
{
    public const string Script = "ops/rabbitmq/compose-pki.sh";

    public static string Default(string variable) => ScriptDefaults.Of(Script, variable);
}

/// <summary>ops/rabbitmq/fleet-crl-sync.sh, the compose broker's copy of the fleet CRL: its paths (the broker's mounts).</summary>
public static class FleetCrlSync
{
    public const string Script = "ops/rabbitmq/fleet-crl-sync.sh";

    public static string Default(string variable) => ScriptDefaults.Of(Script, variable);
}

public static class ScriptDefaults
{
    /// <summary>The default of <c>NAME=${NAME:-default}</c> (or <c>name=${NAME:-default}</c>) in the script.</summary>
    public static string Of(string script, string variable)
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root, script));
        var match = Regex.Match(text, $@"^\w+=\$\{{{variable}:-(?<value>[^}}]+)\}}$", RegexOptions.Multiline);
        Assert.True(match.Success, $"{script} has no …=${{{variable}:-…}}");
        return match.Groups["value"].Value;
    }
}

/// <summary>
/// The broker's TLS material for compose, made for real: ops/pki.sh's extra server names, and the pki step that hands each
/// container its part (run here in a temporary directory, as the current user). Bash and openssl: Unix only.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ComposeFilePkiTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("decom-compose-pki-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Pki_server_certifies_the_extra_names_given_and_without_them_loopback_alone()
    {
        await OpsScripts.RunAsync("ops/pki.sh", "server", Path.Combine(_directory, "named"), "rabbitmq", "mq.example.com", "192.0.2.10");
        await OpsScripts.RunAsync("ops/pki.sh", "server", Path.Combine(_directory, "plain"));

        Assert.Equal(["DNS:localhost", "IP:127.0.0.1", "DNS:rabbitmq", "DNS:mq.example.com", "IP:192.0.2.10"], Names(Path.Combine(_directory, "named", "server.crt")));
        Assert.Equal(["DNS:localhost", "IP:127.0.0.1"], Names(Path.Combine(_directory, "plain", "server.crt")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => OpsScripts.RunAsync("ops/pki.sh", "server", Path.Combine(_directory, "bad"), "a,DNS:evil"));
    }

    [Fact]
    public async Task The_pki_step_gives_the_broker_its_certificate_the_services_the_CA_and_credentials_the_fleet_CA_alone()
    {
        var (tls, brokerCa, fleetCa) = (Path.Combine(_directory, "broker-tls"), Path.Combine(_directory, "broker-ca"), Path.Combine(_directory, "fleet-ca"));
        await RunPkiStepAsync();
        string serial;
        using (var first = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(tls, "server.crt")))
            serial = first.SerialNumber;
        await RunPkiStepAsync();

        // The broker: its own certificate (kept on a second run) and key, the fleet CA as client trust anchor, its CRL hashed.
        using var server = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(tls, "server.crt"));
        Assert.Equal(serial, server.SerialNumber);
        Assert.Equal(["DNS:localhost", "IP:127.0.0.1", "DNS:rabbitmq", "DNS:mq.example.com"], Names(Path.Combine(tls, "server.crt")));
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(brokerCa, "ca.crt"));
        Assert.Equal(ca.Subject, server.Issuer);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tls, "server.key")));
        Assert.Contains(Directory.EnumerateFiles(Path.Combine(tls, "crl")), f => Regex.IsMatch(Path.GetFileName(f), @"^[0-9a-f]{8}\.r0$"));
        var privateKeys = Directory.EnumerateFiles(_directory, "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(Path.Combine(_directory, "pki") + "/", StringComparison.Ordinal) && File.ReadAllText(f).Contains("PRIVATE KEY", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(_directory, f));
        Assert.Equal(["broker-tls/server.key"], privateKeys);

        // Every service: the broker CA alone. Credentials: the fleet CA, which the broker trusts, with its key, behind the password.
        Assert.Equal(["ca.crt"], Directory.EnumerateFileSystemEntries(brokerCa).Select(f => Path.GetFileName(f)));
        var pfx = Path.Combine(fleetCa, "fleet-ca.pfx");
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(pfx));
        using var fleet = X509CertificateLoader.LoadPkcs12FromFile(pfx, "pfx-password", X509KeyStorageFlags.EphemeralKeySet);
        Assert.True(fleet.HasPrivateKey);
        var trusted = new X509Certificate2Collection();
        trusted.ImportFromPemFile(Path.Combine(tls, "client-cas.pem"));
        Assert.Equal([fleet.Thumbprint], trusted.Select(c => c.Thumbprint));
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => X509CertificateLoader.LoadPkcs12FromFile(pfx, "wrong"));
    }

    [Fact]
    public async Task The_broker_installs_the_fleet_CAs_newest_CRL_and_no_other_CAs()
    {
        await RunPkiStepAsync();
        var (pki, crl, published) = (Path.Combine(_directory, "pki", "broker"), Path.Combine(_directory, "broker-tls", "crl"), Path.Combine(_directory, "fleet-crl", "fleet.crl"));
        var link = Assert.Single(Directory.EnumerateFiles(crl, "*.r0"));
        Assert.Equal(1, CrlNumber(link));

        // As the credentials service publishes it: the fleet CA's next CRL, in DER.
        await OpsScripts.RunAsync("ops/pki.sh", "crl", pki, "fleet");
        await File.WriteAllBytesAsync(published, Der(Path.Combine(pki, "crl", "fleet.crl.pem")));
        Assert.Equal(0, await RunCrlSyncAsync(published));
        Assert.Equal(2, CrlNumber(link));

        // Another CA's CRL in its place is not installed.
        await OpsScripts.RunAsync("ops/pki.sh", "ca", pki, "other");
        await File.WriteAllBytesAsync(published, Der(Path.Combine(pki, "crl", "other.crl.pem")));
        Assert.Equal(1, await RunCrlSyncAsync(published));
        Assert.Equal(2, CrlNumber(link));
        Assert.Equal(new[] { "fleet.crl.pem", Path.GetFileName(link) }.Order(StringComparer.Ordinal),
            Directory.EnumerateFileSystemEntries(crl).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal));
    }

    private async Task<int> RunCrlSyncAsync(string published)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = Repository.Root };
        start.ArgumentList.Add(Path.Combine(Repository.Root, FleetCrlSync.Script));
        start.ArgumentList.Add("--once");
        start.Environment["FLEET_CRL_PUBLISHED"] = published;
        start.Environment["FLEET_CA_CERTIFICATE"] = Path.Combine(_directory, "broker-tls", "fleet-ca.crt");
        start.Environment["BROKER_CRL_DIR"] = Path.Combine(_directory, "broker-tls", "crl");
        return (await ChildProcess.RunAsync(start, TimeSpan.FromSeconds(30))).ExitCode;
    }

    private static byte[] Der(string pemCrl) => Convert.FromBase64String(string.Concat(
        File.ReadAllLines(pemCrl).Where(l => !l.StartsWith("-----", StringComparison.Ordinal))));

    private static int CrlNumber(string pemCrl)
    {
        CertificateRevocationListBuilder.LoadPem(File.ReadAllText(pemCrl), out var number);
        return (int)number;
    }

    private async Task RunPkiStepAsync()
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = Repository.Root };
        start.ArgumentList.Add(Path.Combine(Repository.Root, ComposePki.Script));
        start.Environment["PKI_SH"] = Path.Combine(Repository.Root, "ops/pki.sh");
        start.Environment["PKI_DIR"] = Path.Combine(_directory, "pki", "broker");
        start.Environment["BROKER_TLS_DIR"] = Path.Combine(_directory, "broker-tls");
        start.Environment["BROKER_CA_DIR"] = Path.Combine(_directory, "broker-ca");
        start.Environment["FLEET_CA_DIR"] = Path.Combine(_directory, "fleet-ca");
        start.Environment["FLEET_CRL_DIR"] = Path.Combine(_directory, "fleet-crl");
        start.Environment["SERVICE_UID"] = Id("-u");
        start.Environment["BROKER_USER"] = Id("-un");
        start.Environment["BROKER_HOSTNAMES"] = "mq.example.com";
        start.Environment["FLEET_CA_PFX_PASSWORD"] = "pfx-password";
        var run = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(1));
        Assert.True(run.ExitCode == 0, $"{ComposePki.Script} failed ({run.ExitCode}):\n{run.Output}\n{run.Error}");
    }

    private static string Id(string option)
    {
        using var id = Process.Start(new ProcessStartInfo("id", option) { RedirectStandardOutput = true })!;
        var output = id.StandardOutput.ReadToEnd().Trim();
        id.WaitForExit();
        return output;
    }

    /// <summary>The certificate's subjectAltName entries, in order, as DNS:name and IP:address.</summary>
    private static List<string> Names(string certificatePath)
    {
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        // The extension's enumerators give DNS names and addresses apart; their order within the extension is read here.
        var reader = new System.Formats.Asn1.AsnReader(san.RawData, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
        var names = new List<string>();
        while (reader.HasData)
        {
            var tag = reader.PeekTag();
            var value = reader.ReadOctetString(tag);
            names.Add(tag.TagValue == 2 ? $"DNS:{System.Text.Encoding.ASCII.GetString(value)}" : $"IP:{new IPAddress(value)}");
        }
        return names;
    }
}
