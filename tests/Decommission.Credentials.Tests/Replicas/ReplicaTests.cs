using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dapper;
using Decommission.Contracts;
using Decommission.Credentials.Enrollment;
using Decommission.Credentials.Revocation;
using Decommission.Storage;
using Decommission.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using static Decommission.Credentials.Tests.CredentialsSteps;

namespace Decommission.Credentials.Tests.Replicas;

/// <summary>
/// Two replicas of the credentials service (two hosts, each with its own data directory and bus) on one PostgreSQL
/// database and one fleet CA PFX, doing the same work at the same moment, as a redelivery to another replica does.
/// </summary>
public sealed class ReplicaTests
{
    [Fact]
    public async Task Two_replicas_revoking_at_once_issue_crls_in_number_order_each_listing_every_earlier_revocation_and_serve_the_newest()
    {
        await using var replicas = await Replicas.StartAsync(new() { ["Credentials:CrlSpacing"] = "0", ["Credentials:CrlFileSync"] = "00:00:01" });
        var (a, b) = (replicas.A, replicas.B);
        var devices = await EnrollMany(a, "rep", 60);
        var publishers = new[] { a.Services.GetRequiredService<CrlPublisher>(), b.Services.GetRequiredService<CrlPublisher>() };

        // Every device revoked on both replicas at once (the same order, delivered twice), in a stream.
        var revocations = new List<Task<(string Serial, long CrlNumber, DateTimeOffset RevokedAt)?>>();
        foreach (var (device, i) in devices.Select((d, i) => (d, i)))
        {
            var retirement = Guid.NewGuid();
            foreach (var publisher in publishers)
                revocations.Add(Task.Run(() => publisher.RevokeAsync(device.DeviceId, retirement, CancellationToken.None)));
            if (i % 6 == 5)
                await Task.Delay(10);
        }
        var answers = (await Task.WhenAll(revocations)).Select(r => r!.Value).ToList();

        // Both replicas answer a device with the same revocation: its serial and the CRL that first listed it.
        for (var i = 0; i < devices.Count; i++)
        {
            Assert.Equal(devices[i].IdentityCertificateSerial, answers[2 * i].Serial);
            Assert.Equal(answers[2 * i], answers[2 * i + 1]);
        }
        var ca = a.Services.GetRequiredService<FleetCertificateAuthority>();
        var crls = await replicas.CrlsAsync();
        Assert.True(crls.Count > 2, $"only {crls.Count} CRLs were issued: the replicas did not compete");
        HashSet<string> earlier = [];
        string previousIssuedAt = "";
        foreach (var (number, issuedAt, der) in crls)
        {
            CertificateRevocationListBuilder.Load(der, out var signedNumber);
            Assert.Equal(number, (long)signedNumber);
            Assert.True(ca.Signed(der), $"CRL {number} is not signed by the fleet CA");
            // Numbered in the order they were issued, and none drops a revocation an earlier one listed.
            Assert.True(string.CompareOrdinal(issuedAt, previousIssuedAt) >= 0, $"CRL {number} was issued at {issuedAt}, before its predecessor ({previousIssuedAt})");
            var listed = Serials(der);
            Assert.Subset(listed, earlier);
            // Every revocation is on the CRL its answer names.
            Assert.Subset(listed, answers.Where(r => r.CrlNumber == number).Select(r => r.Serial).ToHashSet());
            earlier = listed;
            previousIssuedAt = issuedAt;
        }
        Assert.Equal(devices.Select(d => d.IdentityCertificateSerial).ToHashSet(), earlier);

        // Each replica serves the newest over HTTP, and brings its file up to it.
        var newest = crls[^1].Number;
        foreach (var host in new[] { a, b })
        {
            using var http = new HttpClient { BaseAddress = host.BaseAddress };
            CertificateRevocationListBuilder.Load(await http.GetByteArrayAsync("/crl"), out var served);
            Assert.Equal(newest, (long)served);
            var file = Path.Combine(host.DataDirectory, "crl", "fleet.crl");
            await Eventually.True(() =>
            {
                CertificateRevocationListBuilder.Load(File.ReadAllBytes(file), out var inFile);
                return Task.FromResult((long)inFile == newest);
            }, $"{file} to hold CRL {newest}", TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task Replicas_starting_together_before_any_crl_issue_one_first_crl_and_both_serve_it()
    {
        await using var replicas = await Replicas.StartAsync(together: true);

        var crls = await replicas.CrlsAsync();
        Assert.Equal([1L], crls.Select(c => c.Number));
        foreach (var host in new[] { replicas.A, replicas.B })
        {
            CertificateRevocationListBuilder.Load(File.ReadAllBytes(Path.Combine(host.DataDirectory, "crl", "fleet.crl")), out var number);
            Assert.Equal(1, (long)number);
        }
    }

    [Fact]
    public async Task Two_replicas_quarantining_one_device_at_once_revoke_its_secrets_once_and_answer_alike()
    {
        await using var replicas = await Replicas.StartAsync();
        var (a, b) = (replicas.A, replicas.B);
        var enrolled = await a.Enroll("dev-twice");
        var retirements = new[] { Guid.NewGuid(), Guid.NewGuid() };

        // The inventory's admission heard by both replicas at once (each records it: one row, no failure).
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            (i % 2 == 0 ? a : b).Services.GetRequiredService<AdmittedRetirementStore>().RecordAsync(retirements[0], "dev-twice", DateTimeOffset.UtcNow))));
        var quarantined = await Task.WhenAll(new[] { a, b }.Select((host, i) => Task.Run(() =>
            host.Services.GetRequiredService<EnrolledDeviceStore>().QuarantineAsync("dev-twice", retirements[i], "decommission", DateTimeOffset.UtcNow, CancellationToken.None))));

        Assert.Equal(quarantined[0]!.Credentials, quarantined[1]!.Credentials);
        Assert.Equal(3, quarantined[0]!.Credentials.Count);
        await using var connection = await a.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM admitted_retirements;"));
        var rows = (await connection.QueryAsync<(string? Hash, string RevokedFor)>(
            "SELECT hash AS Hash, revoked_for AS RevokedFor FROM credentials WHERE device_id = 'dev-twice';")).ToList();
        Assert.All(rows, r => Assert.Null(r.Hash));
        Assert.Single(rows.Select(r => r.RevokedFor).Distinct());
        Assert.Equal(rows[0].RevokedFor, await connection.QuerySingleAsync<string>("SELECT quarantined_for FROM devices WHERE device_id = 'dev-twice';"));
        Assert.False((await Check(b, "dev-twice", enrolled.Secrets.ApiKey)).Valid);
    }

    [Fact]
    public async Task The_brokers_part_of_a_quarantine_is_claimed_by_one_replica_done_once_and_taken_over_when_its_claim_grows_stale()
    {
        await using var replicas = await Replicas.StartAsync();
        var stores = new[] { replicas.A, replicas.B }.Select(h => h.Services.GetRequiredService<EnrolledDeviceStore>()).ToArray();
        await replicas.A.Enroll("dev-claimed");
        await replicas.A.Enroll("dev-stale");
        var now = DateTimeOffset.UtcNow;
        var takeOver = TimeSpan.FromMinutes(2);

        // Both replicas at once, four times each: one claim.
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            stores[i % 2].ClaimBrokerQuarantineAsync("dev-claimed", now, takeOver, CancellationToken.None))));
        Assert.Equal(1, claims.Count(c => c == BrokerQuarantine.Claimed));
        Assert.Equal(7, claims.Count(c => c == BrokerQuarantine.UnderWay));
        await stores[0].MarkBrokerQuarantinedAsync("dev-claimed", now, CancellationToken.None);
        Assert.Equal(BrokerQuarantine.Done, await stores[1].ClaimBrokerQuarantineAsync("dev-claimed", now.AddMinutes(10), takeOver, CancellationToken.None));

        // A claim whose replica died is taken over once it is older than the take-over time, not before; a released one at once.
        Assert.Equal(BrokerQuarantine.Claimed, await stores[0].ClaimBrokerQuarantineAsync("dev-stale", now, takeOver, CancellationToken.None));
        Assert.Equal(BrokerQuarantine.UnderWay, await stores[1].ClaimBrokerQuarantineAsync("dev-stale", now.AddSeconds(110), takeOver, CancellationToken.None));
        Assert.Equal(BrokerQuarantine.Claimed, await stores[1].ClaimBrokerQuarantineAsync("dev-stale", now.AddSeconds(130), takeOver, CancellationToken.None));
        await stores[1].ReleaseBrokerQuarantineAsync("dev-stale", CancellationToken.None);
        Assert.Equal(BrokerQuarantine.Claimed, await stores[0].ClaimBrokerQuarantineAsync("dev-stale", now.AddSeconds(131), takeOver, CancellationToken.None));
    }

    [Fact]
    public async Task Two_replicas_enrolling_one_device_id_at_once_enroll_it_once_and_refuse_the_other_with_a_reason()
    {
        await using var replicas = await Replicas.StartAsync();
        for (var round = 0; round < 4; round++)
        {
            var deviceId = $"dev-race-{round}";
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new EnrollDevice
            {
                DeviceId = deviceId, AttestationPublicKey = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()), NetworkSegment = "floor", RequestedBy = "test",
            };

            var responses = await Task.WhenAll(new[] { replicas.A, replicas.B }.Select(host => Task.Run(() =>
                host.Harness.GetRequestClient<EnrollDevice>().GetResponse<DeviceEnrolled, EnrollmentRejected>(request))));

            var enrolled = responses.Select(r => r.Is(out Response<DeviceEnrolled>? e) ? e!.Message : null).OfType<DeviceEnrolled>().ToList();
            var rejected = responses.Select(r => r.Is(out Response<EnrollmentRejected>? e) ? e!.Message : null).OfType<EnrollmentRejected>().ToList();
            Assert.Single(enrolled);
            Assert.Contains("already enrolled", Assert.Single(Assert.Single(rejected).Problems).Problem);
            // The winner's secrets are the device's, on either replica; nothing of the loser's was kept.
            Assert.True((await Check(replicas.B, deviceId, enrolled[0].Secrets.ApiKey)).Valid);
            await using var connection = await replicas.A.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
            Assert.Equal(3, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM credentials WHERE device_id = @Id;", new { Id = deviceId }));
            Assert.Equal(enrolled[0].IdentityCertificateSerial,
                await connection.QuerySingleAsync<string>("SELECT identity_serial FROM devices WHERE device_id = @Id;", new { Id = deviceId }));
        }
    }

    [Fact]
    public async Task With_postgresql_storage_and_no_fleet_ca_pfx_the_service_refuses_to_start_and_makes_no_ca_of_its_own()
    {
        var directory = ServiceUnderTest.NewDataDirectory();
        try
        {
            var database = await PostgresServer.NewDatabaseAsync();
            var error = await Assert.ThrowsAnyAsync<Exception>(() => CredentialsHost.StartAsync(new() { ["Storage:Postgres"] = database }, directory));

            Assert.Contains("Credentials:CaPfxPath is required with Storage:Postgres", error.ToString());
            Assert.False(Directory.Exists(Path.Combine(directory, "ca")), "a replica made a fleet CA of its own");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The serials (hex, as certificates print them) a CRL lists. RFC 5280 §5.1: TBSCertList.revokedCertificates.</summary>
    private static HashSet<string> Serials(byte[] der)
    {
        var tbs = new AsnReader(der, AsnEncodingRules.DER).ReadSequence().ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            tbs.ReadInteger();                  // version
        tbs.ReadSequence();                     // signature algorithm
        tbs.ReadSequence();                     // issuer
        tbs.ReadEncodedValue();                 // thisUpdate
        if (tbs.HasData && !tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence) && !tbs.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
            tbs.ReadEncodedValue();             // nextUpdate
        HashSet<string> serials = [];
        if (!tbs.HasData || !tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            return serials;
        var entries = tbs.ReadSequence();
        while (entries.HasData)
        {
            var entry = entries.ReadSequence();
            serials.Add(Convert.ToHexString(entry.ReadIntegerBytes().Span));
            entry.ReadEncodedValue();
        }
        return serials;
    }

    /// <summary>Two replicas: one PostgreSQL database, one fleet CA PFX, a data directory and a bus each.</summary>
    private sealed class Replicas : IAsyncDisposable
    {
        private readonly string _shared;

        private Replicas(string shared, CredentialsHost a, CredentialsHost b)
        {
            _shared = shared;
            A = a;
            B = b;
        }

        public CredentialsHost A { get; }
        public CredentialsHost B { get; }

        /// <param name="together">Start both at the same moment (by default one after the other).</param>
        public static async Task<Replicas> StartAsync(Dictionary<string, string?>? settings = null, bool together = false)
        {
            var shared = ServiceUnderTest.NewDataDirectory();
            var common = new Dictionary<string, string?>(settings ?? [])
            {
                ["Storage:Postgres"] = await PostgresServer.NewDatabaseAsync(),
                ["Credentials:CaPfxPath"] = FleetCaPfx.WriteTo(Path.Combine(shared, "fleet-ca.pfx")),
                ["Credentials:CaPfxPassword"] = FleetCaPfx.Password,
            };
            if (together)
            {
                // The schema as a deployment step (or an earlier replica) leaves it: tables, no CRL yet. Made here first because
                // Decommission.Outbox creates its tables at start with CREATE TABLE IF NOT EXISTS outside any lock, and two
                // replicas starting together on an empty schema collide there (pg_type_typname_nsp_index): reported, not ours to fix.
                await PrepareSchemaAsync(common["Storage:Postgres"]!);
                var both = await Task.WhenAll(Task.Run(() => CredentialsHost.StartAsync(new(common), engine: SqlDialect.Postgres)),
                    Task.Run(() => CredentialsHost.StartAsync(new(common), engine: SqlDialect.Postgres)));
                return new Replicas(shared, both[0], both[1]);
            }
            var a = await CredentialsHost.StartAsync(new(common), engine: SqlDialect.Postgres);
            var b = await CredentialsHost.StartAsync(new(common), engine: SqlDialect.Postgres);
            return new Replicas(shared, a, b);
        }

        private static async Task PrepareSchemaAsync(string connectionString)
        {
            var database = new CredentialsDatabase(DatabaseLocation.Postgres(connectionString, ServiceDatabaseExtensions.SchemaOf(typeof(CredentialsDatabase))));
            await database.MigrateAsync();
            await using var stream = typeof(Decommission.Outbox.TransactionalOutbox).Assembly.GetManifestResourceStream("Decommission.Outbox.outbox.Postgres.sql")!;
            using var reader = new StreamReader(stream);
            await using var connection = await database.OpenAsync();
            await connection.ExecuteAsync(await reader.ReadToEndAsync());
        }

        /// <summary>Every CRL issued, by number.</summary>
        public async Task<List<(long Number, string IssuedAt, byte[] Der)>> CrlsAsync()
        {
            await using var connection = await A.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
            return (await connection.QueryAsync<(long, string, byte[])>("SELECT number, issued_at, der FROM crls ORDER BY number;")).ToList();
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            Directory.Delete(_shared, recursive: true);
        }
    }
}
