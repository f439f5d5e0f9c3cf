using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Certificates.Pdf;
using PdfSharp.Pdf.Signatures;

// Usage: run.sh [count=200]
// Renders the same documents unsigned, signed with our signer (ECDSA P-256, RSA-3072), and signed with PDFsharp's own
// signer for reference. The variants run interleaved, one document at a time, their order rotated each round, so machine
// noise lands on all alike; nothing rendered is reused between iterations. Prints Markdown, ready to paste into docs.
if (args.Length > 1 || (args.Length == 1 && !int.TryParse(args[0], CultureInfo.InvariantCulture, out _)))
{
    Console.Error.WriteLine("Usage: run.sh [count=200]  (one run measures every key type)");
    return 2;
}
var count = args.Length == 1 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
const int WarmUp = 20;
const double Target = 1.3;

using var ecdsa = CreateSigningCertificate(ECDsa.Create(ECCurve.NamedCurves.nistP256));
using var rsa = CreateSigningCertificate(RSA.Create(3072));
var ours = new CertificatePdf();
var pdfSharpDefault = new CertificatePdf(certificate => new PdfSharpDefaultSigner(certificate, PdfMessageDigestType.SHA256));
Variant[] variants =
[
    new("unsigned", d => ours.Render(d)),
    new("ECDSA P-256, CertificateSigner", d => ours.Render(d, ecdsa)),
    new("RSA-3072, CertificateSigner", d => ours.Render(d, rsa)),
    new("ECDSA P-256, PdfSharpDefaultSigner (reference)", d => pdfSharpDefault.Render(d, ecdsa)),
];
var documents = Enumerable.Range(0, count).Select(BenchDocuments.Create).ToList();

for (var i = 0; i < WarmUp; i++)
    foreach (var variant in variants)
        variant.Render(documents[i % count]);
foreach (var variant in variants.Skip(1))
{
    var check = PdfSignatureVerifier.Check(variant.Render(documents[0]));
    if (!check.SignatureValid)
        throw new InvalidOperationException($"{variant.Name}: the signed certificate does not verify: {check.Problem}");
}

var samples = variants.Select(_ => new double[count]).ToArray();
var bytes = new long[variants.Length];
GC.Collect();
GC.WaitForPendingFinalizers();
for (var i = 0; i < count; i++)
{
    for (var k = 0; k < variants.Length; k++)
    {
        var v = (i + k) % variants.Length;
        var start = Stopwatch.GetTimestamp();
        var pdf = variants[v].Render(documents[i]);
        samples[v][i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        bytes[v] += pdf.Length;
    }
}

var unsignedMedian = Percentile(samples[0], 50);
Console.WriteLine("### Disposal certificate PDF: what signing adds to rendering");
Console.WriteLine();
Console.WriteLine($"- Machine: {Environment.ProcessorCount} logical cores, {CpuModel()}; {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}; {RuntimeInformation.FrameworkDescription}");
Console.WriteLine($"- {count} certificates per row, Release, one thread, after {WarmUp} warm-up rounds; rows interleaved one document at a time, order rotated each round");
Console.WriteLine("- PDFsharp 6.2.4, SHA-256, detached CMS (adbe.pkcs7.detached); ratio = median / unsigned median");
Console.WriteLine();
Console.WriteLine("| Variant | Median ms | p95 ms | Ratio to unsigned | Added ms (median) | Certificates/s | Avg KiB |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
for (var v = 0; v < variants.Length; v++)
{
    var median = Percentile(samples[v], 50);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {variants[v].Name} | {median:0.00} | {Percentile(samples[v], 95):0.00} | {median / unsignedMedian:0.00}× | " +
        $"{median - unsignedMedian:+0.00;-0.00;0.00} | {1000 * count / samples[v].Sum():0} | {bytes[v] / (1024.0 * count):0.0} |"));
}
Console.WriteLine();
var verdicts = variants.Skip(1).Take(2).Select((variant, i) =>
{
    var ratio = Percentile(samples[i + 1], 50) / unsignedMedian;
    return string.Create(CultureInfo.InvariantCulture, $"{variant.Name} {ratio:0.00}× {(ratio <= Target ? "met" : "NOT met")}");
});
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Target ratio ≤ {Target:0.00}×: {string.Join("; ", verdicts)}."));
return 0;

static double Percentile(double[] values, double percent)
{
    var sorted = values.Order().ToArray();
    var rank = percent / 100 * (sorted.Length - 1);
    var low = (int)Math.Floor(rank);
    var high = (int)Math.Ceiling(rank);
    return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

static X509Certificate2 CreateSigningCertificate(AsymmetricAlgorithm key)
{
    using (key)
    {
        var now = DateTimeOffset.UtcNow;
        var request = key switch
        {
            RSA rsa => new CertificateRequest("CN=Bench Certificate Signing", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ecdsa => new CertificateRequest("CN=Bench Certificate Signing", ecdsa, HashAlgorithmName.SHA256),
            _ => throw new ArgumentException($"{key.GetType().Name} is neither RSA nor ECDSA.", nameof(key)),
        };
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }
}

static string CpuModel()
{
    const string cpuInfo = "/proc/cpuinfo";
    var model = File.Exists(cpuInfo)
        ? File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
        : null;
    return model ?? RuntimeInformation.ProcessArchitecture.ToString();
}

internal sealed record Variant(string Name, Func<CertificateDocument, byte[]> Render);
