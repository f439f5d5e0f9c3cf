using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Decommission.Certificates.Apis;
using Decommission.DeviceProtocol;

namespace Decommission.Certificates.Tests;

/// <summary>
/// What an auditor does with our README and openssl alone: the commands are read from the README's section
/// "What a certificate proves, and how to check it without our software" and run as written, on a real certificate.
/// </summary>
public sealed class AuditorOpensslTests
{
    private const string Heading = "#### What a certificate proves, and how to check it without our software";

    [Fact]
    public async Task The_readme_commands_verify_a_real_certificates_evidence_with_openssl_and_fail_on_a_tampered_byte()
    {
        await using var host = await CertificatesHost.StartAsync();
        var issued = await host.Issue(host.PurgeOrder("meter-0042"));
        using var auditor = host.Client(await host.NewKey(ApiRoles.Auditor));
        var directory = Directory.CreateTempSubdirectory("decommission-auditor").FullName;
        var twin = await auditor.GetByteArrayAsync($"/api/certificates/{issued.CertificateId}");
        await File.WriteAllBytesAsync(Path.Combine(directory, issued.CertificateId + ".json"), twin);
        host.Evidence.WriteTrustFiles(directory); // fleet-ca.pem, command-signing.pub.pem: what the operator hands over
        var script = ReadmeScript().Replace("C=DC-….json", $"C={issued.CertificateId}.json", StringComparison.Ordinal);

        var (exit, output) = await ExternalTool.RunIn(directory, "bash", "-c", script);

        Assert.True(exit == 0, output);
        Assert.Contains("identity.pem: OK", output);
        Assert.Contains("subject=CN = meter-0042", output);
        Assert.Equal(2, output.Split("Verified OK").Length - 1);
        using var certificate = JsonDocument.Parse(twin);
        var facts = certificate.RootElement.GetProperty("certificate");
        Assert.Contains($"{facts.GetProperty("receiptSha256").GetString()}  receipt.json", output);
        Assert.Contains($"{facts.GetProperty("commandSha256").GetString()}  command.json", output);
        Assert.Contains($"{ProtocolSigning.KeyId(host.Evidence.DeviceKey("meter-0042"))}  -", output);

        // One edited byte in what was signed, or in a signature, and openssl refuses.
        foreach (var file in new[] { "receipt.signed", "command.signed", "receipt.sig" })
        {
            var path = Path.Combine(directory, file);
            var bytes = await File.ReadAllBytesAsync(path);
            bytes[bytes.Length / 2] ^= 0x01;
            await File.WriteAllBytesAsync(path, bytes);
        }
        var receipt = await ExternalTool.RunIn(directory, "openssl", "dgst", "-sha256", "-verify", "device.pub", "-signature", "receipt.sig", "receipt.signed");
        var command = await ExternalTool.RunIn(directory, "openssl", "dgst", "-sha256", "-verify", "command-signing.pub.pem", "-signature", "command.sig", "command.signed");
        Assert.NotEqual(0, receipt.Exit);
        Assert.Contains("Verification failure", receipt.Output);
        Assert.NotEqual(0, command.Exit);
        Assert.Contains("Verification failure", command.Output);

        // An identity from another CA does not verify against the fleet CA.
        using var rogue = new EvidenceFactory("Rogue CA");
        await File.WriteAllTextAsync(Path.Combine(directory, "identity.pem"), rogue.Identity("meter-0042").ExportCertificatePem());
        var identity = await ExternalTool.RunIn(directory, "openssl", "verify", "-CAfile", "fleet-ca.pem", "-no_check_time", "identity.pem");
        Assert.NotEqual(0, identity.Exit);
    }

    [Fact]
    public void The_signature_as_der_is_the_same_signature()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        for (var i = 0; i < 64; i++) // some r or s have leading zero bytes or a high bit: both must encode minimally
        {
            var data = RandomNumberGenerator.GetBytes(32);
            var der = ProtocolSigning.ToDerSignature(ProtocolSigning.Sign(key, data));
            Assert.True(key.VerifyData(data, der, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        }
    }

    private static string ReadmeScript()
    {
        var readme = File.ReadAllText(Path.Combine(ExternalTool.RepositoryRoot, "README.md"));
        var section = readme.IndexOf(Heading, StringComparison.Ordinal);
        Assert.True(section >= 0, $"README.md has no section \"{Heading}\"");
        var start = readme.IndexOf("```sh\n", section, StringComparison.Ordinal) + "```sh\n".Length;
        var end = readme.IndexOf("```", start, StringComparison.Ordinal);
        return "set -e\n" + readme[start..end];
    }
}
