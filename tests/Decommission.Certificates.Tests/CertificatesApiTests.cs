using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Issuing;
using Decommission.Storage;
using Microsoft.Extensions.DependencyInjection;
using UglyToad.PdfPig;

namespace Decommission.Certificates.Tests;

/// <summary>What auditors come for: certificates they can list, download and verify, and nobody without a key can.</summary>
public sealed class CertificatesApiTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task An_issued_certificate_is_a_signed_pdf_with_the_fields_and_a_json_twin_with_its_hash(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var order = host.PurgeOrder("dev-pdf");

        var issued = await host.Issue(order);

        var pdf = await host.StoredPdf(issued.CertificateId);
        var pdfPath = Path.Combine(host.DataDirectory, issued.CertificateId + ".pdf");
        await File.WriteAllBytesAsync(pdfPath, pdf);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(pdf)), issued.PdfSha256);
        using (var document = PdfDocument.Open(pdf))
        {
            var text = string.Join(" ", document.GetPages().Select(p => p.Text));
            foreach (var expected in new[] { "Acme Sensors", "TH-200", "SN-dev-pdf", "ASSET-0042", "Purge", issued.CertificateId, "boot-rom", "Lyon plant" })
                Assert.Contains(expected, text);
        }
        using var twin = JsonDocument.Parse(await host.StoredJson(issued.CertificateId));
        Assert.Equal(issued.PdfSha256, twin.RootElement.GetProperty("pdfSha256").GetString());
        Assert.Equal("SN-dev-pdf", twin.RootElement.GetProperty("certificate").GetProperty("serialNumber").GetString());
        Assert.Equal("Purge", twin.RootElement.GetProperty("certificate").GetProperty("sanitizationType").GetString());

        var (exit, output) = await ExternalTool.Run("pdfsig", pdfPath);
        Assert.True(exit == 0, output);
        Assert.Contains("Signature is Valid", output);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_redelivered_order_still_yields_one_certificate(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var order = host.PurgeOrder("dev-twice");

        var first = await host.Issue(order);
        var second = await host.Issue(order);

        Assert.Equal((first.CertificateId, first.PdfSha256), (second.CertificateId, second.PdfSha256));
        await using var connection = await host.Services.GetRequiredService<CertificatesDatabase>().OpenAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM certificates;"));
        if (engine == SqlDialect.Sqlite)
            Assert.Equal(2, Directory.GetFiles(Path.Combine(host.DataDirectory, "certificates")).Length);
        else
            Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM certificate_documents;"));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Every_endpoint_but_health_and_the_page_shell_needs_a_key_and_roles_limit_what_it_may_do(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var issued = await host.Issue(host.PurgeOrder("dev-auth"));
        var operatorKey = await host.NewKey(ApiRoles.Operator);
        var auditorKey = await host.NewKey(ApiRoles.Auditor);
        string[] reads = ["/api/certificates", $"/api/certificates/{issued.CertificateId}", $"/api/certificates/{issued.CertificateId}/pdf", "/openapi/certificates.json"];

        using var anonymous = host.Client(null);
        using var wrongKey = host.Client("dk_0123456789abcdef.not-the-secret");
        using var operatorClient = host.Client(operatorKey);
        using var auditor = host.Client(auditorKey);
        foreach (var path in reads.Append("/api/access-log"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrongKey.GetAsync(path)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/api/certificates/verify", new ByteArrayContent([1]))).StatusCode);
        foreach (var path in reads)
        {
            Assert.Equal(HttpStatusCode.OK, (await operatorClient.GetAsync(path)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync(path)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorClient.GetAsync("/api/access-log")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorClient.PostAsync("/api/certificates/verify", new ByteArrayContent([1]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync("/api/access-log")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/")).StatusCode);

        await using var connection = await host.Services.GetRequiredService<CertificatesDatabase>().OpenAsync();
        var stored = await connection.QueryAsync<string>("SELECT secret_sha256 FROM api_keys;");
        Assert.DoesNotContain(stored, hash => auditorKey.Contains(hash) || hash.Contains(auditorKey[(auditorKey.IndexOf('.') + 1)..]));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task The_list_pages_with_a_cursor_and_filters_by_device_method_and_date(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var start = DateTimeOffset.UtcNow.AddSeconds(-1);
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
            ids.Add((await host.Issue(i == 3 ? await host.DestroyOrderAsync($"page-{i}") : host.PurgeOrder($"page-{i}"))).CertificateId);
        using var client = host.Client(await host.NewKey(ApiRoles.Auditor));

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = (await client.GetFromJsonAsync<CertificatesApi.CertificatePage>($"/api/certificates?limit=3{(cursor is null ? "" : $"&cursor={cursor}")}", Web))!;
            seen.AddRange(page.Items.Select(c => c.CertificateId));
            cursor = page.NextCursor;
            pages++;
        } while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(ids, seen);
        var destroyed = (await client.GetFromJsonAsync<CertificatesApi.CertificatePage>("/api/certificates?method=Destroy", Web))!;
        Assert.Equal([ids[3]], destroyed.Items.Select(c => c.CertificateId));
        var device = (await client.GetFromJsonAsync<CertificatesApi.CertificatePage>("/api/certificates?deviceId=page-5", Web))!;
        Assert.Equal([ids[5]], device.Items.Select(c => c.CertificateId));
        var future = (await client.GetFromJsonAsync<CertificatesApi.CertificatePage>(
            $"/api/certificates?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(1).ToString("O"))}", Web))!;
        Assert.Empty(future.Items);
        var since = (await client.GetFromJsonAsync<CertificatesApi.CertificatePage>($"/api/certificates?from={Uri.EscapeDataString(start.ToString("O"))}", Web))!;
        Assert.Equal(7, since.Items.Count);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/certificates?cursor=abc")).StatusCode);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Verify_says_valid_for_ours_invalid_after_one_flipped_byte_and_not_ours_otherwise_and_logs_each_access(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var issued = await host.Issue(host.PurgeOrder("dev-verify"));
        var auditorKey = await host.NewKey(ApiRoles.Auditor);
        using var client = host.Client(auditorKey);
        var pdf = await client.GetByteArrayAsync($"/api/certificates/{issued.CertificateId}/pdf");
        var flipped = (byte[])pdf.Clone();
        flipped[flipped.Length / 3] ^= 0x01;
        var unsigned = host.Services.GetRequiredService<Certificates.Pdf.CertificatePdf>().Render(new Certificates.Pdf.CertificateDocument { CertificateId = "DC-FAKE" });

        var ours = await Upload(client, pdf);
        var tampered = await Upload(client, flipped);
        var notSigned = await Upload(client, unsigned);

        Assert.Equal((VerificationResult.Valid, issued.CertificateId), (ours.Verdict, ours.CertificateId));
        Assert.Equal(VerificationResult.SignatureInvalid, tampered.Verdict);
        Assert.Equal(VerificationResult.NotOurs, notSigned.Verdict);

        var log = (await client.GetFromJsonAsync<List<AccessEntry>>("/api/access-log", Web))!;
        Assert.Contains(log, e => e.Action == "download-pdf" && e.CertificateId == issued.CertificateId && e.Role == ApiRoles.Auditor);
        Assert.Equal(3, log.Count(e => e.Action == "verify"));
        Assert.Contains(log, e => e.Action == "verify" && e.Outcome == VerificationResult.SignatureInvalid);
    }

    [Fact]
    public async Task The_auditor_page_lists_certificates_in_a_real_headless_browser()
    {
        await using var host = await CertificatesHost.StartAsync();
        var issued = await host.Issue(host.PurgeOrder("dev-page"));
        var key = await host.NewKey(ApiRoles.Auditor);
        var profile = Directory.CreateTempSubdirectory("decommission-chromium");

        var (exit, dom) = await ExternalTool.Run("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", $"--user-data-dir={profile.FullName}",
            "--virtual-time-budget=10000", "--dump-dom", $"{host.BaseAddress}#key={Uri.EscapeDataString(key)}");

        Assert.True(exit == 0, dom);
        Assert.Contains(issued.CertificateId, dom);
        Assert.Contains("dev-page", dom);
        Assert.Contains("1 certificate(s)", dom);
    }

    private static async Task<VerificationResult> Upload(HttpClient client, byte[] pdf)
    {
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(pdf);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
        form.Add(file, "file", "certificate.pdf");
        var response = await client.PostAsync("/api/certificates/verify", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<VerificationResult>(Web))!;
    }
}
