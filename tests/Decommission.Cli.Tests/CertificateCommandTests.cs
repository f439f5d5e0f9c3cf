using System.Security.Cryptography;
using Decommission.Certificates.Apis;

namespace Decommission.Cli.Tests;

/// <summary>decom against the real certificates API: download a signed PDF, verify it, and the API's refusals as one line each.</summary>
public sealed class CertificateCommandTests : IAsyncLifetime
{
    private CertificatesHost _api = null!;

    public async Task InitializeAsync() => _api = await CertificatesHost.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task A_downloaded_certificate_is_written_with_its_sha256_and_verifies_as_valid()
    {
        var issued = await _api.Issue("dev-cert-1");
        var auditor = await _api.NewKey(ApiRoles.Auditor);
        var file = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}", "certificate.pdf");

        var download = await Decom.Run("certificates", "download", issued.CertificateId, "--out", file, "--api", _api.Address, "--api-key", auditor);

        Assert.True(download.ExitCode == 0, download.ToString());
        var bytes = await File.ReadAllBytesAsync(file);
        Assert.Equal(issued.PdfSha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Assert.Contains($"SHA-256 {issued.PdfSha256}", download.Out);

        var verify = await Decom.Run(new Dictionary<string, string> { ["DECOM_API"] = _api.Address, ["DECOM_API_KEY"] = auditor }, "certificates", "verify", file);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("Verdict     valid", verify.Out);
        Assert.Contains($"Certificate {issued.CertificateId}", verify.Out);
    }

    [Fact]
    public async Task A_tampered_certificate_does_not_verify_and_exits_1()
    {
        var issued = await _api.Issue("dev-cert-2");
        var auditor = await _api.NewKey(ApiRoles.Auditor);
        var file = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}.pdf");
        Assert.Equal(0, (await Decom.Run("certificates", "download", issued.CertificateId, "--out", file, "--api", _api.Address, "--api-key", auditor)).ExitCode);
        var bytes = await File.ReadAllBytesAsync(file);
        var at = Array.IndexOf(bytes, (byte)'P', bytes.Length / 3);
        bytes[at] = (byte)'Q';
        await File.WriteAllBytesAsync(file, bytes);

        var verify = await Decom.Run("certificates", "verify", file, "--api", _api.Address, "--api-key", auditor);

        Assert.True(verify.ExitCode == 1, verify.ToString());
        Assert.DoesNotContain("Verdict     valid", verify.Out);
        Assert.Contains("Verdict     signature-invalid", verify.Out);
    }

    [Fact]
    public async Task The_apis_refusals_are_one_line_each_and_exit_1()
    {
        var issued = await _api.Issue("dev-cert-3");
        var file = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}.pdf");

        var noKey = await Decom.Run("certificates", "download", issued.CertificateId, "--out", file, "--api", _api.Address);
        Assert.Equal(1, noKey.ExitCode);
        Assert.Equal($"decom: the certificates API at {_api.Address}/ needs an API key: give --api-key or set DECOM_API_KEY", Assert.Single(noKey.ErrorLines));
        Assert.False(File.Exists(file));

        var wrongKey = await Decom.Run("certificates", "download", issued.CertificateId, "--out", file, "--api", _api.Address, "--api-key", "not-a-key");
        Assert.Equal($"decom: the certificates API at {_api.Address}/ refused the API key", Assert.Single(wrongKey.ErrorLines));

        var operatorKey = await _api.NewKey(ApiRoles.Operator);
        var unknown = await Decom.Run("certificates", "download", "DC-NOPE", "--out", file, "--api", _api.Address, "--api-key", operatorKey);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal($"decom: no certificate DC-NOPE at {_api.Address}/", Assert.Single(unknown.ErrorLines));

        // Operators read certificates; only auditors verify them.
        Assert.Equal(0, (await Decom.Run("certificates", "download", issued.CertificateId, "--out", file, "--api", _api.Address, "--api-key", operatorKey)).ExitCode);
        var verify = await Decom.Run("certificates", "verify", file, "--api", _api.Address, "--api-key", operatorKey);
        Assert.Equal(1, verify.ExitCode);
        Assert.Equal($"decom: the certificates API at {_api.Address}/ does not allow this API key's role to do that", Assert.Single(verify.ErrorLines));
    }
}
