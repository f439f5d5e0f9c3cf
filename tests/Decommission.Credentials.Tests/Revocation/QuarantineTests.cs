using Decommission.Storage;
using Decommission.Testing;
using System.Text;
using Dapper;
using Decommission.Contracts;
using Microsoft.Extensions.DependencyInjection;
using static Decommission.Credentials.Tests.CredentialsSteps;

namespace Decommission.Credentials.Tests.Revocation;

/// <summary>At end of life none of a device's secrets works anywhere any more, and only for a retirement the inventory admitted.</summary>
public sealed class QuarantineTests
{
    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Enrolled_secrets_validate_until_quarantine_revokes_them_all(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
        var enrolled = await host.Enroll("dev-q1");
        var secrets = new[] { enrolled.Secrets.CloudToken, enrolled.Secrets.ApiKey, enrolled.Secrets.AdminPassword };
        foreach (var secret in secrets)
            Assert.True((await Check(host, "dev-q1", secret)).Valid);
        Assert.False((await Check(host, "dev-q1", "guess")).Valid);

        var quarantined = await Quarantine(host, "dev-q1", Guid.NewGuid());

        Assert.Equal(["AdminPassword", "ApiKey", "CloudToken"], quarantined.RevokedCredentials.Select(c => c.Kind));
        Assert.Equal("decommission", quarantined.NetworkSegment);
        foreach (var secret in secrets)
        {
            var check = await Check(host, "dev-q1", secret);
            Assert.False(check.Valid);
            Assert.Equal("the device's credentials are revoked", check.Reason);
        }
        await using var connection = await host.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM credentials WHERE device_id = 'dev-q1' AND hash IS NOT NULL;"));
    }

    [Fact]
    public async Task Revoking_a_secret_leaves_no_copy_of_its_hash_in_the_database_file_or_its_wal()
    {
        await using var host = await CredentialsHost.StartAsync();
        await host.Enroll("dev-scrub");
        List<string> hashes;
        await using (var connection = await host.Services.GetRequiredService<CredentialsDatabase>().OpenAsync())
            hashes = (await connection.QueryAsync<string>("SELECT hash FROM credentials WHERE device_id = 'dev-scrub';")).ToList();
        Assert.Equal(3, hashes.Count);
        // Before: the hashes are on disk (the test can see what it looks for).
        Assert.Contains(hashes, h => OnDisk(host.DatabasePath).Contains(h, StringComparison.Ordinal));

        await Quarantine(host, "dev-scrub", Guid.NewGuid());

        var disk = OnDisk(host.DatabasePath);
        foreach (var hash in hashes)
            Assert.DoesNotContain(hash, disk, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_postgresql_revoking_a_secret_vacuums_the_table_so_no_dead_row_version_keeps_its_hash()
    {
        // What the service's role can see and do: VACUUM (it owns the table) removes the dead row versions an UPDATE leaves.
        // The server's WAL and the pages' free space are beyond any role (CredentialsDatabase.ScrubDestroyedHashesAsync).
        await using var host = await CredentialsHost.StartAsync(engine: SqlDialect.Postgres);
        await host.Enroll("dev-scrub");
        const string Vacuumed = """
            SELECT last_vacuum IS NOT NULL AS Vacuumed, n_dead_tup AS Dead FROM pg_stat_user_tables
            WHERE schemaname = current_schema() AND relname = 'credentials';
            """;
        await using var connection = await host.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
        Assert.False((await connection.QuerySingleAsync<(bool Vacuumed, long Dead)>(Vacuumed)).Vacuumed);

        await Quarantine(host, "dev-scrub", Guid.NewGuid());

        await using var after = await host.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
        var (vacuumed, dead) = await after.QuerySingleAsync<(bool Vacuumed, long Dead)>(Vacuumed);
        Assert.True(vacuumed, "credentials was not vacuumed after the hashes were destroyed");
        Assert.Equal(0, dead);
    }

    /// <summary>Every byte of the database file and its WAL, as Latin-1 text (hashes are stored as text).</summary>
    private static string OnDisk(string databasePath)
    {
        var text = new StringBuilder();
        foreach (var path in new[] { databasePath, databasePath + "-wal" }.Where(File.Exists))
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            text.Append(Encoding.Latin1.GetString(copy.ToArray()));
        }
        return text.ToString();
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Quarantining_twice_changes_nothing_and_answers_the_same(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
        await host.Enroll("dev-q2");
        var retirement = Guid.NewGuid();

        var first = await Quarantine(host, "dev-q2", retirement);
        await using var connection = await host.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
        var rowsBefore = (await connection.QueryAsync<string>("SELECT credential_id || revoked_at || revoked_for FROM credentials ORDER BY 1;")).ToList();
        var second = await Quarantine(host, "dev-q2", retirement);
        var rowsAfter = (await connection.QueryAsync<string>("SELECT credential_id || revoked_at || revoked_for FROM credentials ORDER BY 1;")).ToList();

        Assert.Equal(rowsBefore, rowsAfter);
        Assert.Equal(first.RevokedCredentials, second.RevokedCredentials);
        Assert.Equal(first.NetworkSegment, second.NetworkSegment);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Orders_for_a_retirement_the_inventory_never_admitted_revoke_nothing(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
        var enrolled = await host.Enroll("dev-not-admitted");
        var retirement = Guid.NewGuid();

        // What a leaked orchestrator credential could send for an active device.
        await host.Harness.Bus.Publish(new QuarantineDevice { RetirementId = retirement, DeviceId = "dev-not-admitted" });
        await host.Harness.Bus.Publish(new RevokeIdentity { RetirementId = retirement, DeviceId = "dev-not-admitted" });
        await Task.Delay(1500);

        Assert.True((await Check(host, "dev-not-admitted", enrolled.Secrets.ApiKey)).Valid, "the device's secrets were revoked");
        Assert.DoesNotContain(BusTraffic.Of<DeviceQuarantined>(host.Harness), m => m.RetirementId == retirement);
        Assert.DoesNotContain(BusTraffic.Of<IdentityRevoked>(host.Harness), m => m.RetirementId == retirement);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task An_unknown_device_is_refused_with_a_reason(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
        var retirement = Guid.NewGuid();

        await host.Admit(retirement, "nobody");
        await host.Harness.Bus.Publish(new QuarantineDevice { RetirementId = retirement, DeviceId = "nobody" });

        var refused = await host.WaitForPublished<QuarantineRefused>(m => m.RetirementId == retirement);
        Assert.Equal(RefusalReasons.UnknownDevice, refused.Reason);
        Assert.Contains("never enrolled", refused.Detail);
        Assert.False((await Check(host, "nobody", "x")).Valid);
    }
}
