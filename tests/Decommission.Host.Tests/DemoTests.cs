using System.Diagnostics;
using System.Text.Json;
using Decommission.Certificates.Pdf;

namespace Decommission.Host.Tests;

/// <summary>README's first command: the embedded demo retires a fleet end to end and leaves its proof behind.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task The_demo_retires_the_healthy_devices_fails_the_hostile_ones_and_leaves_certificates_and_a_crl()
    {
        var data = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));

        var exit = await Demo.RunAsync(["--devices", "10", "--data", data]);

        Assert.Equal(0, exit);
        // 10 devices: 3 healthy, a slow one and two that come back online retire; 4 hostile or silent ones fail.
        var pdfs = Directory.GetFiles(Path.Combine(data, "certificates"), "*.pdf");
        Assert.Equal(6, pdfs.Length);
        Assert.Equal(6, Directory.GetFiles(Path.Combine(data, "certificates"), "*.json").Length);
        foreach (var pdf in pdfs)
        {
            var check = PdfSignatureVerifier.Check(await File.ReadAllBytesAsync(pdf));
            Assert.True(check.SignatureValid, check.Problem);
            using var twin = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.ChangeExtension(pdf, ".json")));
            Assert.Equal("Purge", twin.RootElement.GetProperty("certificate").GetProperty("sanitizationType").GetString());
        }

        var start = new ProcessStartInfo("openssl", ["crl", "-inform", "DER", "-in", Path.Combine(data, "crl", "fleet.crl"),
            "-CAfile", Path.Combine(data, "ca", "fleet-ca.pem"), "-noout", "-text"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var openssl = Process.Start(start)!;
        var output = await openssl.StandardOutput.ReadToEndAsync() + await openssl.StandardError.ReadToEndAsync();
        await openssl.WaitForExitAsync();
        Assert.Contains("verify OK", output);
        Assert.Equal(6, output.Split("Serial Number:").Length - 1);
    }
}
