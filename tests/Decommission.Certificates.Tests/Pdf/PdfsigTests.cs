using System.Diagnostics;
using Decommission.Certificates.Pdf;
using Xunit.Abstractions;

namespace Decommission.Certificates.Tests.Pdf;

/// <summary>An independent reader (poppler's pdfsig) accepts our signature: what auditors' tools will see.</summary>
public sealed class PdfsigTests(ITestOutputHelper output)
{
    private static readonly CertificatePdf Pdf = new();

    [Theory]
    [InlineData("RSA-3072")]
    [InlineData("ECDSA-P256")]
    public async Task Pdfsig_reports_the_signature_valid(string keyType)
    {
        using var certificate = TestSigningCertificates.Create(keyType);
        var path = Path.Combine(Path.GetTempPath(), $"decommission-pdfsig-{Guid.NewGuid():N}.pdf");
        await File.WriteAllBytesAsync(path, Pdf.Render(SampleCertificates.Purge(auditEntries: 80), certificate));
        try
        {
            var (exitCode, report) = await RunPdfsig(path);
            output.WriteLine(report);

            Assert.Equal(0, exitCode);
            Assert.Contains("Signature Type: adbe.pkcs7.detached", report);
            Assert.Contains("Total document signed", report);
            Assert.Contains("Signature Validation: Signature is Valid.", report);
            // The test certificate is self-signed, so pdfsig does not trust it; trust is the service's decision (its own CA).
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("RSA-3072")]
    [InlineData("ECDSA-P256")]
    public async Task Pdfsig_reports_a_tampered_certificate_invalid(string keyType)
    {
        using var certificate = TestSigningCertificates.Create(keyType);
        var pdf = Pdf.Render(SampleCertificates.Purge(), certificate);
        pdf[pdf.Length / 3] ^= 0x01;
        var path = Path.Combine(Path.GetTempPath(), $"decommission-pdfsig-{Guid.NewGuid():N}.pdf");
        await File.WriteAllBytesAsync(path, pdf);
        try
        {
            var (_, report) = await RunPdfsig(path);
            output.WriteLine(report);

            Assert.DoesNotContain("Signature is Valid", report);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<(int ExitCode, string Report)> RunPdfsig(string path)
    {
        Process process;
        try
        {
            process = Process.Start(new ProcessStartInfo("pdfsig", [path]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"pdfsig is not installed ({e.Message}). ops/test.sh installs poppler-utils; here: apt-get install -y poppler-utils");
            throw;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, (await stdout) + (await stderr));
        }
    }
}
