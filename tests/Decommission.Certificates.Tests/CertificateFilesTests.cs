using System.Security.Cryptography;
using System.Text.Json;
using Decommission.Certificates.Issuing;
using Decommission.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Tests;

/// <summary>The certificates' files: the start-up clean-up (<see cref="CertificateFiles.RecoverAsync"/>) on a real database and directory, and
/// concurrent issues of one certificate.</summary>
public sealed class CertificateFilesTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
    private CertificatesDatabase _database = null!;
    private CertificateStore _store = null!;

    private string Storage => Path.Combine(_data, "certificates");

    public async Task InitializeAsync()
    {
        _database = new CertificatesDatabase(Path.Combine(_data, "certificates.db"));
        await _database.MigrateAsync();
        _store = new CertificateStore(_database);
        Directory.CreateDirectory(Storage);
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Crash_leftovers_are_removed_at_start_and_the_files_rows_name_are_kept()
    {
        // A certificate with its row; one whose files were stored but whose row was never written; temporary files of both
        // steps; a row written elsewhere (another working directory) whose files are here; a file that is not a certificate's.
        await AddRowAsync("DC-LISTED", Storage);
        await AddRowAsync("DC-MOVED", "/some/other/data/certificates");
        var kept = new[] { "DC-LISTED.pdf", "DC-LISTED.json", "DC-MOVED.pdf", "DC-MOVED.json", "README.txt" };
        var leftovers = new[]
        {
            "DC-UNLISTED.pdf", "DC-UNLISTED.json",
            "DC-UNLISTED.pdf.0f0e0d0c0b0a09080706050403020100.tmp", "DC-LISTED.json.00112233445566778899aabbccddeeff.tmp",
        };
        foreach (var name in kept.Concat(leftovers))
            await File.WriteAllTextAsync(Path.Combine(Storage, name), name);

        var files = Files();
        var removed = await files.RecoverAsync();

        Assert.Equal(leftovers.Order(StringComparer.Ordinal), removed.Order(StringComparer.Ordinal));
        Assert.Equal(kept.Order(StringComparer.Ordinal), Directory.EnumerateFiles(Storage).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("DC-LISTED.pdf", await File.ReadAllTextAsync(Path.Combine(Storage, "DC-LISTED.pdf")));
    }

    [Fact]
    public async Task The_clean_up_runs_once_per_process_before_anything_is_stored()
    {
        await File.WriteAllTextAsync(Path.Combine(Storage, "DC-OLD.pdf"), "stored before a crash, no row");
        var files = Files();

        // Staging waits for the clean-up: the leftover is gone, and what this process stages afterwards is not taken for one.
        var staged = await files.StageAsync("DC-NEW", "%PDF-1.7"u8.ToArray(), "{}"u8.ToArray(), CancellationToken.None);
        Assert.False(File.Exists(Path.Combine(Storage, "DC-OLD.pdf")));
        staged.PutInPlace();
        Assert.Equal(["DC-OLD.pdf"], await files.RecoverAsync());
        Assert.Equal(["DC-NEW.json", "DC-NEW.pdf"], Directory.EnumerateFiles(Storage).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("%PDF-1.7", await File.ReadAllTextAsync(files.PdfPath("DC-NEW")));
    }

    [Fact]
    public async Task No_directory_yet_is_nothing_to_clean()
    {
        Directory.Delete(Storage);
        Assert.Empty(await Files().RecoverAsync());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Concurrent_deliveries_of_one_order_leave_one_certificate_whose_files_are_the_ones_its_row_describes(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var issuer = host.Services.GetRequiredService<CertificateIssuer>();
        var order = host.PurgeOrder("dev-concurrent");

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => issuer.IssueAsync(order, CancellationToken.None))));

        var certificate = Assert.Single(outcomes.Select(o => o.Certificate!).DistinctBy(c => (c.Seq, c.PdfSha256)));
        Assert.Equal(certificate.PdfSha256, Convert.ToHexStringLower(SHA256.HashData(await host.StoredPdf(certificate.CertificateId))));
        var twin = JsonSerializer.Deserialize<CertificateJson>(await host.StoredJson(certificate.CertificateId), CertificateIssuer.Json)!;
        Assert.Equal(certificate.PdfSha256, twin.PdfSha256);
        if (engine == SqlDialect.Sqlite)
            Assert.Equal([certificate.CertificateId + ".json", certificate.CertificateId + ".pdf"],
                Directory.EnumerateFiles(Path.Combine(host.DataDirectory, "certificates")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        else
            Assert.False(Directory.Exists(Path.Combine(host.DataDirectory, "certificates")), "no files on PostgreSQL");
    }

    private CertificateFiles Files() =>
        new(Options.Create(new CertificatesOptions { DataDirectory = _data }), _store, NullLogger<CertificateFiles>.Instance);

    private async Task AddRowAsync(string certificateId, string directory) =>
        Assert.True(await _store.AddAsync(new IssuedCertificate(certificateId, Guid.NewGuid(), "dev-" + certificateId, "Purge", DateTimeOffset.UtcNow,
            new string('0', 64), Path.Combine(directory, certificateId + ".pdf"), Path.Combine(directory, certificateId + ".json"), null)));
}
