using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Issuing;
using Decommission.Contracts;
using MassTransit;
using Xunit.Abstractions;

namespace Decommission.Certificates.Tests;

/// <summary>
/// Issue 17, "certificates appear whole": the certificates service's own host over the real RabbitMQ node, killed with
/// SIGKILL while three issues are held, one at each step of issuing (Certificates:CrashTestPauseAt, so the kill lands exactly
/// there), and started again over the same data directory; the orders, unacknowledged, come back to the new process.
/// Everything is checked through the auditor API and the storage directory.
/// </summary>
public sealed partial class IssueCrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Crash_kill_9_at_each_step_of_issuing_leaves_no_listed_certificate_without_bytes_and_no_stray_file_after_restart()
    {
        var clock = Stopwatch.StartNew();
        using var evidence = new EvidenceFactory();
        var data = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
        var storage = Path.Combine(data, "certificates");
        var orders = new[] { evidence.PurgeOrder("dev-crash-a"), evidence.PurgeOrder("dev-crash-b"), evidence.PurgeOrder("dev-crash-c") }
            .ToDictionary(o => CertificateIssuer.CertificateIdFor(o.RetirementId));
        // The auditor's key, made as create-api-key makes it (the service's own store and database), before the first start.
        var database = new CertificatesDatabase(Path.Combine(data, "certificates.db"));
        await database.MigrateAsync();
        var auditorKey = await new ApiKeyStore(database, TimeProvider.System).CreateAsync("crash-test-auditor", ApiRoles.Auditor);

        // 1. Three orders, each held at another step (which order reaches which step does not matter), then SIGKILL.
        var busStarting = OrderBus.StartAsync();
        var first = StartAsync(data, evidence, [IssueStep.TemporaryFilesWritten, IssueStep.FilesStored, IssueStep.RowWritten]);
        await using var bus = await busStarting.ContinueWith(async started =>
        {
            if (started.IsFaulted)
                await (await first).DisposeAsync();
            return await started;
        }).Unwrap();
        Dictionary<IssueStep, string> heldAt;
        string survivorSha256;
        string[] leftByTheKill;
        await using (var service = await first)
        {
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: the first process answers");
            foreach (var order in orders.Values)
                await bus.SendAsync(order);
            heldAt = (await service.WaitForOutputAsync("paused at", count: 3)).Select(line => Paused().Match(line))
                .ToDictionary(m => Enum.Parse<IssueStep>(m.Groups["step"].Value), m => m.Groups["id"].Value);
            Assert.Equal(orders.Keys.Order(), heldAt.Values.Order());

            // Only the certificate whose row is written is listed, and it is whole; nothing is announced yet.
            var listed = Assert.Single(await ListAsync(service, auditorKey));
            Assert.Equal(heldAt[IssueStep.RowWritten], listed.CertificateId);
            await AssertWholeAsync(service, auditorKey, [listed]);
            survivorSha256 = listed.PdfSha256;
            Assert.Empty(bus.Announced);

            // On disk: the temporary files of one, and files in place for the two others, one of them named by no row.
            leftByTheKill = FilesIn(storage);
            var temporaries = leftByTheKill.Where(name => name.EndsWith(CertificateFiles.TemporarySuffix, StringComparison.Ordinal)).ToList();
            Assert.Equal(2, temporaries.Count);
            Assert.All(temporaries, name => Assert.StartsWith(heldAt[IssueStep.TemporaryFilesWritten] + ".", name));
            Assert.Equal(CertificateFileNames(heldAt[IssueStep.FilesStored], heldAt[IssueStep.RowWritten]), leftByTheKill.Except(temporaries));
            await service.KillAsync();
        }
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: killed with {string.Join(", ", heldAt.Select(h => $"{h.Value} at {h.Key}"))}");

        // 2. Started again (and a duplicate of the order whose row was written): the leftovers are removed first, the orders
        //    come back; the two without a row are issued whole, the third is answered from its row (the same certificate).
        var withRow = orders[heldAt[IssueStep.RowWritten]];
        await bus.SendAsync(withRow);
        await using (var service = await StartAsync(data, evidence, []))
        {
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: started again");
            await Eventually.True(() => orders.Values.All(o => bus.Announced.Count(m => m.RetirementId == o.RetirementId) == (o == withRow ? 2 : 1)),
                "every order, and the duplicate, to be announced", TimeSpan.FromSeconds(60));

            var listed = await ListAsync(service, auditorKey);
            Assert.Equal(orders.Values.Select(o => o.RetirementId).Order(), listed.Select(l => l.RetirementId).Order());
            await AssertWholeAsync(service, auditorKey, listed);
            Assert.All(bus.Announced, m => Assert.Equal(listed.Single(l => l.CertificateId == m.CertificateId).PdfSha256, m.PdfSha256));
            Assert.Equal(CertificateFileNames([.. orders.Keys]), FilesIn(storage));
            // And the service said what it removed: the leftovers, not the listed certificate's files.
            var removal = Assert.Single(await service.WaitForOutputAsync("an interrupted issue left"));
            var removed = leftByTheKill.Where(name => removal.Contains(name, StringComparison.Ordinal)).ToList();
            Assert.Equal(leftByTheKill.Except(CertificateFileNames(heldAt[IssueStep.RowWritten])), removed);

            // The certificate listed when the process died is the same one now, and still verifies (signature and record).
            var survivor = heldAt[IssueStep.RowWritten];
            using var auditor = Client(service, auditorKey);
            var pdf = await auditor.GetByteArrayAsync($"/api/certificates/{survivor}/pdf");
            Assert.Equal(survivorSha256, Convert.ToHexStringLower(SHA256.HashData(pdf)));
            using var upload = new ByteArrayContent(pdf);
            upload.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
            var verdict = await (await auditor.PostAsync("/api/certificates/verify", upload)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("valid", verdict.GetProperty("verdict").GetString());
        }
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: done");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(data, recursive: true);
    }

    [GeneratedRegex(@"issuing (?<id>DC-[0-9A-F]{32}) paused at (?<step>\w+)")]
    private static partial Regex Paused();

    private static Task<ServiceProcess> StartAsync(string data, EvidenceFactory evidence, IssueStep[] pauseAt)
    {
        var settings = new Dictionary<string, string>
        {
            ["Bus__Transport"] = "RabbitMq",
            ["Bus__RabbitMqUri"] = RabbitMqNode.Uri.ToString(),
            // The test node's guest user plays every process: who sent what cannot be told apart here.
            ["Bus__VerifySenders"] = "false",
            // Two cores, whatever the machine: the service then takes four orders at once, so three can be held together.
            ["DOTNET_PROCESSOR_COUNT"] = "2",
        };
        for (var i = 0; i < pauseAt.Length; i++)
            settings[$"Certificates__CrashTestPauseAt__{i}"] = pauseAt[i].ToString();
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
