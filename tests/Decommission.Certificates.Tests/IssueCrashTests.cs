using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Issuing;
using Decommission.Contracts;
using MassTransit;
using Xunit.Abstractions;

namespace Decommission.Certificates.Tests;

/// <summary>
/// Issue 17, "certificates appear whole": the certificates service's own host over the real RabbitMQ node, killed with
/// SIGKILL at each step of issuing (Certificates:CrashTestPauseAt holds every issue at the step, so the kill lands exactly
/// there) and started again over the same data directory; the orders, unacknowledged, come back to the new process.
/// Everything is checked through the auditor API and the storage directory.
/// </summary>
public sealed class IssueCrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Crash_kill_9_at_each_step_of_issuing_leaves_no_listed_certificate_without_bytes_and_no_stray_file_after_restart()
    {
        var clock = Stopwatch.StartNew();
        using var evidence = new EvidenceFactory();
        var data = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
        var storage = Path.Combine(data, "certificates");
        // The saga's side of the bus starts while the first process does.
        var busStarting = OrderBus.StartAsync();
        var a = evidence.PurgeOrder("dev-crash-a");
        var b = evidence.PurgeOrder("dev-crash-b");
        var (idA, idB) = (CertificateIssuer.CertificateIdFor(a.RetirementId), CertificateIssuer.CertificateIdFor(b.RetirementId));
        // The auditor's key, made as create-api-key makes it (the service's own store and database), before the first start.
        var database = new CertificatesDatabase(Path.Combine(data, "certificates.db"));
        await database.MigrateAsync();
        var auditorKey = await new ApiKeyStore(database, TimeProvider.System).CreateAsync("crash-test-auditor", ApiRoles.Auditor);
        var first = StartAsync(data, evidence, IssueStep.TemporaryFilesWritten);
        await using var bus = await busStarting.ContinueWith(async started =>
        {
            if (started.IsFaulted)
                await (await first).DisposeAsync();
            return await started;
        }).Unwrap();

        // 1. Killed with both certificates' files written under temporary names: nothing listed.
        string[] temporaries;
        await using (var service = await first)
        {
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: the first process answers");
            await bus.SendAsync(a);
            await bus.SendAsync(b);
            await service.WaitForOutputAsync($"paused at {IssueStep.TemporaryFilesWritten}", count: 2);
            Assert.Empty(await ListAsync(service, auditorKey));
            temporaries = FilesIn(storage);
            Assert.Equal(4, temporaries.Length);
            Assert.All(temporaries, name => Assert.EndsWith(CertificateFiles.TemporarySuffix, name));
            await service.KillAsync();
        }
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: killed with temporary files {string.Join(", ", temporaries)}");

        // 2. Started again: the temporary files are removed before anything else; the orders come back and are killed with the
        //    files in place under their names but no row: still nothing listed.
        await using (var service = await StartAsync(data, evidence, IssueStep.FilesStored))
        {
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: started again");
            await service.WaitForOutputAsync($"paused at {IssueStep.FilesStored}", count: 2);
            var removal = Assert.Single(await service.WaitForOutputAsync("an interrupted issue left"));
            Assert.All(temporaries, name => Assert.Contains(name, removal));
            Assert.Empty(await ListAsync(service, auditorKey));
            Assert.Equal(CertificateFileNames(idA, idB), FilesIn(storage));
            await service.KillAsync();
        }
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: killed with files stored and no row");

        // 3. Started again: the files no row names are removed; the orders come back and are killed after the row, before the
        //    announcement. Listed now, and whole.
        Dictionary<string, string> atRowWritten;
        await using (var service = await StartAsync(data, evidence, IssueStep.RowWritten))
        {
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: started again");
            await service.WaitForOutputAsync($"paused at {IssueStep.RowWritten}", count: 2);
            var removal = Assert.Single(await service.WaitForOutputAsync("an interrupted issue left"));
            Assert.All(CertificateFileNames(idA, idB), name => Assert.Contains(name, removal));
            var listed = await ListAsync(service, auditorKey);
            Assert.Equal(new[] { a.RetirementId, b.RetirementId }.Order(), listed.Select(c => c.RetirementId).Order());
            await AssertWholeAsync(service, auditorKey, listed);
            Assert.Equal(CertificateFileNames(idA, idB), FilesIn(storage));
            Assert.Empty(bus.Announced);
            atRowWritten = listed.ToDictionary(c => c.CertificateId, c => c.PdfSha256);
            await service.KillAsync();
        }
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: killed with the rows written, nothing announced");

        // 4. Started again without a pause: the orders come back and are answered from the rows (the same certificates, not
        //    issued again); a new order and a duplicate of an old one are answered too. One certificate per retirement, whole.
        var c = evidence.PurgeOrder("dev-crash-c");
        await bus.SendAsync(c);
        await bus.SendAsync(a);
        await using (var service = await StartAsync(data, evidence, pauseAt: null))
        {
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: started again");
            await Eventually.True(() => bus.Announced.Count(m => m.RetirementId == a.RetirementId) == 2
                    && bus.Announced.Count(m => m.RetirementId == b.RetirementId) == 1 && bus.Announced.Count(m => m.RetirementId == c.RetirementId) == 1,
                "the redelivered orders, the duplicate and the new order to be announced", TimeSpan.FromSeconds(60));
            Assert.All(bus.Announced.Where(m => m.RetirementId != c.RetirementId), m => Assert.Equal(atRowWritten[m.CertificateId], m.PdfSha256));

            var listed = await ListAsync(service, auditorKey);
            Assert.Equal(new[] { a.RetirementId, b.RetirementId, c.RetirementId }.Order(), listed.Select(l => l.RetirementId).Order());
            Assert.Equal(atRowWritten[idA], listed.Single(l => l.CertificateId == idA).PdfSha256);
            await AssertWholeAsync(service, auditorKey, listed);
            Assert.Equal(CertificateFileNames(idA, idB, CertificateIssuer.CertificateIdFor(c.RetirementId)), FilesIn(storage));

            // The certificate that lived through three kills still verifies (its signature and its record).
            using var auditor = Client(service, auditorKey);
            using var upload = new ByteArrayContent(await auditor.GetByteArrayAsync($"/api/certificates/{idA}/pdf"));
            upload.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
            var verdict = await (await auditor.PostAsync("/api/certificates/verify", upload)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("valid", verdict.GetProperty("verdict").GetString());
        }
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: done");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(data, recursive: true);
    }

    private static Task<ServiceProcess> StartAsync(string data, EvidenceFactory evidence, IssueStep? pauseAt)
    {
        var settings = new Dictionary<string, string>
        {
            ["Bus__Transport"] = "RabbitMq",
            ["Bus__RabbitMqUri"] = RabbitMqNode.Uri.ToString(),
            // The test node's guest user plays every process: who sent what cannot be told apart here.
            ["Bus__VerifySenders"] = "false",
        };
        if (pauseAt is { } step)
            settings["Certificates__CrashTestPauseAt"] = step.ToString();
        return ServiceProcess.StartAsync(data, evidence, settings);
    }

    /// <summary>Every certificate listed downloads, and its bytes hash to what the list and its JSON record say.</summary>
    private static async Task AssertWholeAsync(ServiceProcess service, string key, IReadOnlyList<CertificatesApi.CertificateSummary> listed)
    {
        using var auditor = Client(service, key);
        foreach (var certificate in listed)
        {
            var pdf = await auditor.GetByteArrayAsync($"/api/certificates/{certificate.CertificateId}/pdf");
            using var record = JsonDocument.Parse(await auditor.GetByteArrayAsync($"/api/certificates/{certificate.CertificateId}"));
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(pdf));
            Assert.True(pdf.Length > 1000, $"{certificate.CertificateId}'s PDF has {pdf.Length} bytes");
            Assert.Equal(certificate.PdfSha256, sha256);
            Assert.Equal(record.RootElement.GetProperty("pdfSha256").GetString(), sha256);
            Assert.Equal(certificate.CertificateId, record.RootElement.GetProperty("certificate").GetProperty("certificateId").GetString());
        }
    }

    private static async Task<IReadOnlyList<CertificatesApi.CertificateSummary>> ListAsync(ServiceProcess service, string key)
    {
        using var auditor = Client(service, key);
        var page = await auditor.GetFromJsonAsync<CertificatesApi.CertificatePage>("/api/certificates?limit=200");
        Assert.Null(page!.NextCursor);
        return page.Items;
    }

    private static HttpClient Client(ServiceProcess service, string key)
    {
        var client = new HttpClient { BaseAddress = service.BaseAddress };
        client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.Header, key);
        return client;
    }

    private static string[] FilesIn(string directory) =>
        Directory.Exists(directory) ? [.. Directory.EnumerateFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!] : [];

    private static string[] CertificateFileNames(params string[] certificateIds) =>
        [.. certificateIds.SelectMany(id => new[] { id + ".json", id + ".pdf" }).Order(StringComparer.Ordinal)];

    /// <summary>The saga's side of the bus: sends issue orders to the service's queue and hears the certificates announced.</summary>
    private sealed class OrderBus : IAsyncDisposable
    {
        private readonly IBusControl _bus;
        private readonly ConcurrentQueue<DisposalCertificateIssued> _announced;

        private OrderBus(IBusControl bus, ConcurrentQueue<DisposalCertificateIssued> announced) => (_bus, _announced) = (bus, announced);

        public IReadOnlyCollection<DisposalCertificateIssued> Announced => _announced;

        public static async Task<OrderBus> StartAsync()
        {
            var uri = RabbitMqNode.Uri;
            var credentials = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
            var announced = new ConcurrentQueue<DisposalCertificateIssued>();
            var bus = MassTransit.Bus.Factory.CreateUsingRabbitMq(cfg =>
            {
                cfg.Host(new UriBuilder(uri) { UserName = "", Password = "" }.Uri, host =>
                {
                    host.Username(credentials[0]);
                    host.Password(credentials[1]);
                });
                cfg.ReceiveEndpoint($"certificates-crash-test-{Guid.NewGuid():N}", e =>
                {
                    e.AutoDelete = true;
                    e.Durable = false;
                    e.Handler<DisposalCertificateIssued>(context =>
                    {
                        announced.Enqueue(context.Message);
                        return Task.CompletedTask;
                    });
                });
            });
            await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            return new OrderBus(bus, announced);
        }

        /// <summary>To the service's queue, as the saga sends it (the queue keeps it while no process consumes).</summary>
        public async Task SendAsync(IssueDisposalCertificate order) =>
            await (await _bus.GetSendEndpoint(new Uri($"queue:{QueueNames.IssueDisposalCertificate}"))).Send(order);

        public async ValueTask DisposeAsync() => await _bus.StopAsync();
    }
}
