using Decommission.Testing;
using Decommission.Storage;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Contracts;
using Decommission.Credentials.Revocation;
using Microsoft.Extensions.DependencyInjection;
using static Decommission.Credentials.Tests.CredentialsSteps;

namespace Decommission.Credentials.Tests.Revocation;

/// <summary>A retired device's identity is on a CRL the fleet CA signs, published in shared, paced batches and served over HTTP.</summary>
public sealed class CrlTests
{
    [Fact]
    public async Task A_crl_past_half_its_validity_is_issued_again_with_the_next_number_so_relying_parties_never_hold_an_expired_one()
    {
        var directory = Decommission.Testing.ServiceUnderTest.NewDataDirectory();
        try
        {
            await using (var first = await CredentialsHost.StartAsync(dataDirectory: directory))
                Assert.Equal(1, CrlNumber(directory));

            // Four of its seven days later (nothing revoked meanwhile), as the service finds it when it looks again.
            await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(directory, "credentials.db")};Pooling=False"))
            {
                await connection.OpenAsync();
                var age = connection.CreateCommand();
                age.CommandText = "UPDATE crls SET issued_at = @IssuedAt;";
                age.Parameters.AddWithValue("@IssuedAt", DateTimeOffset.UtcNow.AddDays(-4).ToString("O"));
                await age.ExecuteNonQueryAsync();
            }
            await using (var second = await CredentialsHost.StartAsync(dataDirectory: directory))
                Assert.Equal(2, CrlNumber(directory));
            var (exit, output) = await OpenSsl("crl", "-inform", "DER", "-in", Path.Combine(directory, "crl", "fleet.crl"), "-noout", "-nextupdate");
            Assert.True(exit == 0, output);
            var nextUpdate = DateTimeOffset.ParseExact(output.Trim()["nextUpdate=".Length..].Replace("  ", " "), "MMM d HH:mm:ss yyyy 'GMT'",
                System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
            Assert.True(nextUpdate > DateTimeOffset.UtcNow.AddDays(6.9), $"the new CRL is valid until {nextUpdate}");

            // A young CRL stays as it is.
            await using (var third = await CredentialsHost.StartAsync(dataDirectory: directory))
                Assert.Equal(2, CrlNumber(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_crl_signed_under_an_earlier_ca_is_issued_again_under_the_current_one_so_the_broker_can_check_devices_against_it()
    {
        // ops/up.sh makes a new fleet CA with each broker node, over the same data directory: a CRL the old CA signed would
        // not chain to the CA the broker trusts, and the broker would refuse every device (bad_crl, no_issuer_cert_chain).
        var directory = Decommission.Testing.ServiceUnderTest.NewDataDirectory();
        try
        {
            await using (var first = await CredentialsHost.StartAsync(dataDirectory: directory))
                Assert.Equal(1, CrlNumber(directory));
            var ca = Path.Combine(directory, "ca", "fleet-ca.pem");
            var earlierCa = await File.ReadAllTextAsync(ca);
            File.Delete(Path.Combine(directory, "ca", "fleet-ca.key.pem"));

            await using (var second = await CredentialsHost.StartAsync(dataDirectory: directory))
                Assert.Equal(2, CrlNumber(directory));

            Assert.NotEqual(earlierCa, await File.ReadAllTextAsync(ca));
            var (exit, output) = await OpenSsl("crl", "-inform", "DER", "-in", Path.Combine(directory, "crl", "fleet.crl"), "-CAfile", ca, "-noout");
            Assert.True(exit == 0, output);
            Assert.Contains("verify OK", output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int CrlNumber(string directory)
    {
        CertificateRevocationListBuilder.Load(File.ReadAllBytes(Path.Combine(directory, "crl", "fleet.crl")), out var number);
        return (int)number;
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Revoked_identities_are_on_a_crl_that_openssl_verifies_against_the_fleet_ca(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
        var serials = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var enrolled = await host.Enroll($"dev-crl{i}");
            var retirement = Guid.NewGuid();
            await host.Admit(retirement, $"dev-crl{i}");
            await host.Harness.Bus.Publish(new RevokeIdentity { RetirementId = retirement, DeviceId = $"dev-crl{i}" });
            var revoked = await host.WaitForPublished<IdentityRevoked>(m => m.RetirementId == retirement);
            Assert.Equal(enrolled.IdentityCertificateSerial, revoked.CertificateSerial);
            serials.Add(revoked.CertificateSerial);
        }

        var crl = Path.Combine(host.DataDirectory, "crl", "fleet.crl");
        var ca = Path.Combine(host.DataDirectory, "ca", "fleet-ca.pem");
        var (exit, output) = await OpenSsl("crl", "-inform", "DER", "-in", crl, "-CAfile", ca, "-noout", "-text");

        Assert.True(exit == 0, output);
        Assert.Contains("verify OK", output);
        Assert.Contains("Cessation Of Operation", output);
        foreach (var serial in serials)
            Assert.Contains($"Serial Number: {serial}", output, StringComparison.OrdinalIgnoreCase);
        // The CA the SQLite default made for itself keeps its key owner-only (on PostgreSQL it comes from the configured PFX).
        if (engine == SqlDialect.Sqlite)
            Assert.True(Decommission.Storage.OwnerOnlyFile.IsOwnerOnly(Path.Combine(host.DataDirectory, "ca", "fleet-ca.key.pem")));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Two_hundred_concurrent_revocations_share_crls_and_end_in_one_crl_with_all_two_hundred(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
        var enrolled = await EnrollMany(host, "many", 200);

        var publisher = host.Services.GetRequiredService<CrlPublisher>();
        var results = await Task.WhenAll(enrolled.Select(d => Task.Run(() => publisher.RevokeAsync(d.DeviceId, Guid.NewGuid(), CancellationToken.None))));

        // Revocations that arrive together share a CRL; every revocation still names the CRL that first listed it.
        var numbers = results.Select(r => r!.Value.CrlNumber).Distinct().ToList();
        Assert.InRange(numbers.Count, 1, 199);
        Assert.Equal(200, results.Select(r => r!.Value.Serial).Distinct().Count());
        var (exit, output) = await OpenSsl("crl", "-inform", "DER", "-in", publisher.CrlPath, "-CAfile",
            Path.Combine(host.DataDirectory, "ca", "fleet-ca.pem"), "-noout", "-text");
        Assert.True(exit == 0, output);
        var number = System.Text.RegularExpressions.Regex.Match(output, @"X509v3 CRL Number:\s*(\d+)");
        Assert.Equal(results.Max(r => r!.Value.CrlNumber).ToString(System.Globalization.CultureInfo.InvariantCulture), number.Groups[1].Value);
        foreach (var device in enrolled)
            Assert.Contains($"Serial Number: {device.IdentityCertificateSerial}", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_stream_of_revocations_shares_paced_crls_and_a_lone_one_after_a_quiet_spell_does_not_wait()
    {
        // Spacing 100: after a CRL that took t, the next one waits 100 t.
        await using var host = await CredentialsHost.StartAsync(new Dictionary<string, string?> { ["Credentials:CrlSpacing"] = "100" });
        var enrolled = await EnrollMany(host, "stream", 31);
        var publisher = host.Services.GetRequiredService<CrlPublisher>();

        // Thirty revocations, one every 20 ms: each would otherwise find the previous CRL done and get its own.
        var stream = new List<Task<(string Serial, long CrlNumber, DateTimeOffset RevokedAt)?>>();
        foreach (var device in enrolled.Take(30))
        {
            stream.Add(Task.Run(() => publisher.RevokeAsync(device.DeviceId, Guid.NewGuid(), CancellationToken.None)));
            await Task.Delay(20);
        }
        var numbers = (await Task.WhenAll(stream)).Select(r => r!.Value.CrlNumber).Distinct().ToList();
        Assert.InRange(numbers.Count, 1, 10);

        // While the pacing runs, a revocation would wait; after a quiet spell longer than the pacing the next one does not.
        // (The pacing follows the last CRL's cost, which a loaded machine stretches: the test waits it out, not a fixed time.)
        var quiet = System.Diagnostics.Stopwatch.StartNew();
        while (publisher.PacingRemaining > TimeSpan.Zero)
        {
            Assert.True(quiet.Elapsed < TimeSpan.FromSeconds(60), $"the pacing never ended ({publisher.PacingRemaining} left)");
            await Task.Delay(100);
        }
        var lone = await publisher.RevokeAsync(enrolled[30].DeviceId, Guid.NewGuid(), CancellationToken.None);
        Assert.Equal(TimeSpan.Zero, publisher.LastPacing);
        Assert.Equal(numbers.Max() + 1, lone!.Value.CrlNumber);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task The_crl_is_served_publicly_over_http_and_a_repeat_revocation_keeps_its_number(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
        await host.Enroll("dev-http");
        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        var empty = await CrlFacts.ReadAsync(await http.GetByteArrayAsync("/crl"));

        var publisher = host.Services.GetRequiredService<CrlPublisher>();
        var retirement = Guid.NewGuid();
        var first = await publisher.RevokeAsync("dev-http", retirement, CancellationToken.None);
        var repeat = await publisher.RevokeAsync("dev-http", retirement, CancellationToken.None);
        var response = await http.GetAsync("/crl");

        Assert.Equal(0, empty.EntryCount);
        Assert.Equal(first!.Value.CrlNumber, repeat!.Value.CrlNumber);
        Assert.Equal("application/pkix-crl", response.Content.Headers.ContentType!.MediaType);
        var served = await CrlFacts.ReadAsync(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, served.EntryCount);
        Assert.Equal(first.Value.CrlNumber, served.Number);
    }

    /// <summary>A CRL's number (read by .NET) and how many certificates it lists (read by openssl).</summary>
    private sealed record CrlFacts(long Number, int EntryCount)
    {
        public static async Task<CrlFacts> ReadAsync(byte[] der)
        {
            CertificateRevocationListBuilder.Load(der, out var number);
            var path = Path.Combine(Path.GetTempPath(), $"crl-{Guid.NewGuid():N}.der");
            await File.WriteAllBytesAsync(path, der);
            var (exit, output) = await OpenSsl("crl", "-inform", "DER", "-noout", "-text", "-in", path);
            Assert.True(exit == 0, output);
            return new CrlFacts((long)number, output.Split("Serial Number:").Length - 1);
        }
    }
}
