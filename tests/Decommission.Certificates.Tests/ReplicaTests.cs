using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Issuing;
using Decommission.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Certificates.Tests;

/// <summary>Issue 18: replicas of the certificates service on one PostgreSQL database, signing with the PFX they are all given.</summary>
public sealed class ReplicaTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Two_replicas_issuing_one_retirement_at_once_sign_one_certificate_that_both_answer_with_and_both_serve()
    {
        await using var first = await CertificatesHost.StartAsync(engine: SqlDialect.Postgres);
        await using var second = await CertificatesHost.StartReplicaAsync(first);
        using var signatures = new SignatureCount(first, second);
        var order = first.PurgeOrder("dev-replicas");

        // Three deliveries on each replica at once (a redelivery racing the first, on both machines).
        var issues = new[] { first, second }.SelectMany(host => Enumerable.Range(0, 3).Select(_ =>
            Task.Run(() => host.Services.GetRequiredService<CertificateIssuer>().IssueAsync(order, CancellationToken.None))));
        var outcomes = await Task.WhenAll(issues);

        var certificate = Assert.Single(outcomes.Select(o => o.Certificate ?? throw new Xunit.Sdk.XunitException($"refused: {o.Reason}: {o.Detail}"))
            .DistinctBy(c => (c.CertificateId, c.Seq, c.PdfSha256)));
        Assert.Equal(1, signatures.Total);
        await using (var connection = await first.Services.GetRequiredService<CertificatesDatabase>().OpenAsync())
        {
            Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM certificates;"));
            Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM certificate_documents;"));
        }
        // Either replica serves the bytes, and verifies them as its own authority's.
        foreach (var host in new[] { first, second })
        {
            using var auditor = host.Client(await host.NewKey(ApiRoles.Auditor));
            var pdf = await auditor.GetByteArrayAsync($"/api/certificates/{certificate.CertificateId}/pdf");
            Assert.Equal(certificate.PdfSha256, Convert.ToHexStringLower(SHA256.HashData(pdf)));
            using var twin = JsonDocument.Parse(await auditor.GetByteArrayAsync($"/api/certificates/{certificate.CertificateId}"));
            Assert.Equal(certificate.PdfSha256, twin.RootElement.GetProperty("pdfSha256").GetString());
            using var upload = new ByteArrayContent(pdf);
            upload.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
            var verdict = (await (await auditor.PostAsync("/api/certificates/verify", upload)).Content.ReadFromJsonAsync<VerificationResult>(Web))!;
            Assert.Equal((VerificationResult.Valid, certificate.CertificateId), (verdict.Verdict, verdict.CertificateId));
        }
    }

    [Fact]
    public async Task Replicas_issuing_different_retirements_at_once_do_not_wait_for_each_other_and_each_gets_its_own()
    {
        await using var first = await CertificatesHost.StartAsync(engine: SqlDialect.Postgres);
        await using var second = await CertificatesHost.StartReplicaAsync(first);
        var orders = Enumerable.Range(0, 6).Select(i => first.PurgeOrder($"dev-many-{i}")).ToList();

        var outcomes = await Task.WhenAll(orders.Select((order, i) =>
            Task.Run(() => (i % 2 == 0 ? first : second).Services.GetRequiredService<CertificateIssuer>().IssueAsync(order, CancellationToken.None))));

        Assert.Equal(orders.Select(o => o.RetirementId), outcomes.Select(o => o.Certificate!.RetirementId));
        var listed = await second.Services.GetRequiredService<CertificateStore>().PageAsync(null, null, null, null, 0, 100, CancellationToken.None);
        Assert.Equal(orders.Select(o => o.RetirementId).Order(), listed.Select(c => c.RetirementId).Order());
    }

    [Fact]
    public async Task An_auditor_paging_while_replicas_issue_skips_no_certificate()
    {
        await using var first = await CertificatesHost.StartAsync(engine: SqlDialect.Postgres);
        await using var second = await CertificatesHost.StartReplicaAsync(first);
        var database = first.Services.GetRequiredService<CertificatesDatabase>();
        var store = second.Services.GetRequiredService<CertificateStore>();

        // One replica is storing a certificate (its row inserted, so its seq drawn, not yet committed) ...
        await using var connection = await database.OpenAsync();
        await using var storing = await ServiceDatabase.BeginWriteAsync(connection);
        var early = new IssuedCertificate("DC-EARLY", Guid.NewGuid(), "dev-early", "Purge", DateTimeOffset.UtcNow, new string('0', 64), null, null, null);
        Assert.True(await DatabaseCertificateArchive.WriteAsync(connection, storing, database.Location.Schema!, early, [1], [2]));
        // ... while the other issues one, and an auditor pages meanwhile and keeps the cursor of the last certificate it saw.
        var later = Task.Run(() => second.Services.GetRequiredService<CertificateIssuer>().IssueAsync(second.PurgeOrder("dev-later"), CancellationToken.None));
        await Task.WhenAny(later, Task.Delay(TimeSpan.FromSeconds(5)));
        var seen = await store.PageAsync(null, null, null, null, 0, 100, CancellationToken.None);
        await storing.CommitAsync();
        await later;

        var cursor = seen.Count == 0 ? 0 : seen[^1].Seq;
        var rest = await store.PageAsync(null, null, null, null, cursor, 100, CancellationToken.None);
        Assert.Equal(["DC-EARLY", CertificateIssuer.CertificateIdFor((await later).Certificate!.RetirementId)],
            seen.Concat(rest).Select(c => c.CertificateId));
    }

    [Fact]
    public async Task On_PostgreSQL_a_replica_without_the_signing_pfx_refuses_to_start_instead_of_making_a_key_of_its_own()
    {
        await using var first = await CertificatesHost.StartAsync(engine: SqlDialect.Postgres);

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => CertificatesHost.StartReplicaAsync(first,
            new Dictionary<string, string?> { ["Certificates:SigningPfxPath"] = "" }));

        Assert.Contains("Certificates:SigningPfxPath", refused.ToString());
        Assert.Contains("does not make a signing key of its own", refused.ToString());
    }

    /// <summary>Certificate PDFs the given hosts signed (their decommission.certificates.signed counters), whatever other tests do meanwhile.</summary>
    private sealed class SignatureCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public SignatureCount(params CertificatesHost[] hosts)
        {
            var scopes = hosts.Select(h => h.Services.GetRequiredService<IMeterFactory>()).ToList();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == CertificateMetrics.MeterName && instrument.Name == "decommission.certificates.signed"
                    && scopes.Any(s => ReferenceEquals(s, instrument.Meter.Scope)))
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
