using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Certificates.Pdf;

// Usage: run.sh [count=200] [rsa|ecdsa]
// Renders the same documents unsigned and signed, interleaved in rounds (alternating which goes first) so machine noise
// lands on both alike; nothing rendered is reused between iterations.
var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
var keyType = args.Length > 1 ? args[1].ToLowerInvariant() : "rsa";
const int WarmUp = 20;

using var signingCertificate = CreateSigningCertificate(keyType);
var renderer = new CertificatePdf();
var documents = Enumerable.Range(0, count).Select(BenchDocuments.Create).ToList();

for (var i = 0; i < WarmUp; i++)
{
    renderer.Render(documents[i % count]);
    renderer.Render(documents[i % count], signingCertificate);
}
var check = PdfSignatureVerifier.Check(renderer.Render(documents[0], signingCertificate));
if (!check.SignatureValid)
    throw new InvalidOperationException($"The signed certificate does not verify: {check.Problem}");

var unsigned = new double[count];
var signed = new double[count];
long bytes = 0;
for (var i = 0; i < count; i++)
{
    if (i % 2 == 0)
    {
        unsigned[i] = Time(() => bytes += renderer.Render(documents[i]).Length);
        signed[i] = Time(() => bytes += renderer.Render(documents[i], signingCertificate).Length);
    }
    else
    {
        signed[i] = Time(() => bytes += renderer.Render(documents[i], signingCertificate).Length);
        unsigned[i] = Time(() => bytes += renderer.Render(documents[i]).Length);
    }
}

var unsignedMedian = Percentile(unsigned, 50);
var signedMedian = Percentile(signed, 50);
var ratio = signedMedian / unsignedMedian;
Console.WriteLine($"Disposal certificate PDF: {count} documents, each rendered unsigned and signed ({keyType.ToUpperInvariant()} {KeySize(signingCertificate)}), after {WarmUp} warm-up rounds");
Console.WriteLine();
Console.WriteLine($"| {"measure",-26} | {"median ms",10} | {"p95 ms",10} | {"mean ms",10} |");
Console.WriteLine($"|{new string('-', 28)}|{new string('-', 12)}|{new string('-', 12)}|{new string('-', 12)}|");
Row("render (unsigned)", unsigned);
Row("render + sign", signed);
Console.WriteLine();
Console.WriteLine($"ratio of medians (signed / unsigned): {ratio:0.00}x  (target <= 1.30x: {(ratio <= 1.3 ? "met" : "NOT met")})");
Console.WriteLine($"signed certificates per second, one thread: {1000 * count / signed.Sum():0.0}");
Console.WriteLine($"average size: {bytes / (2.0 * count) / 1024:0.0} KiB");
Console.WriteLine();
Console.WriteLine($"machine: {Environment.ProcessorCount} cores ({CpuModel()}), {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}, {RuntimeInformation.FrameworkDescription}");
return 0;

static double Time(Action render)
{
    var start = Stopwatch.GetTimestamp();
    render();
    return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
}

static double Percentile(double[] values, double percent)
{
    var sorted = values.Order().ToArray();
    var rank = percent / 100 * (sorted.Length - 1);
    var low = (int)Math.Floor(rank);
    var high = (int)Math.Ceiling(rank);
    return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

static void Row(string name, double[] values) =>
    Console.WriteLine($"| {name,-26} | {Percentile(values, 50),10:0.00} | {Percentile(values, 95),10:0.00} | {values.Average(),10:0.00} |");

static X509Certificate2 CreateSigningCertificate(string keyType)
{
    var now = DateTimeOffset.UtcNow;
    switch (keyType)
    {
        case "rsa":
            using (var rsa = RSA.Create(3072))
                return new CertificateRequest("CN=Bench Certificate Signing", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
                    .CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        case "ecdsa":
            using (var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                return new CertificateRequest("CN=Bench Certificate Signing", ecdsa, HashAlgorithmName.SHA256)
                    .CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        default:
            throw new ArgumentException($"Unknown key type {keyType}: rsa or ecdsa.");
    }
}

static string KeySize(X509Certificate2 certificate) =>
    certificate.GetRSAPublicKey() is { } rsa ? $"{rsa.KeySize}" : certificate.GetECDsaPublicKey() is { } ecdsa ? $"P-{ecdsa.KeySize}" : "?";

static string CpuModel()
{
    const string cpuInfo = "/proc/cpuinfo";
    var model = File.Exists(cpuInfo)
        ? File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
        : null;
    return model ?? RuntimeInformation.ProcessArchitecture.ToString();
}
