using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Dapper;
using Decommission.Contracts;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Credentials.Tests;

/// <summary>Unique credentials per device, and at end of life none of them works anywhere any more.</summary>
public sealed class CredentialsTests
{
    private static async Task<CredentialChecked> Check(CredentialsHost host, string deviceId, string secret) =>
        (await host.Harness.GetRequestClient<CheckCredential>().GetResponse<CredentialChecked>(new CheckCredential { DeviceId = deviceId, Secret = secret })).Message;

    private static async Task<DeviceQuarantined> Quarantine(CredentialsHost host, string deviceId, Guid retirementId)
    {
        var before = host.Harness.Published.Select<DeviceQuarantined>().Count();
        await host.Admit(retirementId, deviceId);
        await host.Harness.Bus.Publish(new QuarantineDevice { RetirementId = retirementId, DeviceId = deviceId });
        var until = DateTime.UtcNow.AddSeconds(15);
        while (host.Harness.Published.Select<DeviceQuarantined>().Count() <= before && DateTime.UtcNow < until)
            await Task.Delay(20);
        return host.Harness.Published.Select<DeviceQuarantined>().Select(m => m.Context.Message).Last(m => m.DeviceId == deviceId);
    }

    [Fact]
    public async Task Enrolled_secrets_validate_until_quarantine_revokes_them_all()
    {
        await using var host = await CredentialsHost.StartAsync();
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

    [Fact]
    public async Task Quarantining_twice_changes_nothing_and_answers_the_same()
    {
        await using var host = await CredentialsHost.StartAsync();
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

    [Fact]
    public async Task Orders_for_a_retirement_the_inventory_never_admitted_revoke_nothing()
    {
        await using var host = await CredentialsHost.StartAsync();
        var enrolled = await host.Enroll("dev-not-admitted");
        var retirement = Guid.NewGuid();

        // What a leaked orchestrator credential could send for an active device.
        await host.Harness.Bus.Publish(new QuarantineDevice { RetirementId = retirement, DeviceId = "dev-not-admitted" });
        await host.Harness.Bus.Publish(new RevokeIdentity { RetirementId = retirement, DeviceId = "dev-not-admitted" });
        await Task.Delay(1500);

        Assert.True((await Check(host, "dev-not-admitted", enrolled.Secrets.ApiKey)).Valid, "the device's secrets were revoked");
        Assert.DoesNotContain(host.Harness.Published.Select<DeviceQuarantined>(), m => m.Context.Message.RetirementId == retirement);
        Assert.DoesNotContain(host.Harness.Published.Select<IdentityRevoked>(), m => m.Context.Message.RetirementId == retirement);
    }

    [Fact]
    public async Task An_unknown_device_is_refused_with_a_reason()
    {
        await using var host = await CredentialsHost.StartAsync();
        var retirement = Guid.NewGuid();

        await host.Admit(retirement, "nobody");
        await host.Harness.Bus.Publish(new QuarantineDevice { RetirementId = retirement, DeviceId = "nobody" });

        var refused = await host.WaitForPublished<QuarantineRefused>(m => m.RetirementId == retirement);
        Assert.Equal(RefusalReasons.UnknownDevice, refused.Reason);
        Assert.Contains("never enrolled", refused.Detail);
        Assert.False((await Check(host, "nobody", "x")).Valid);
    }

    [Fact]
    public async Task A_csv_with_bad_rows_is_refused_by_line_and_nothing_is_enrolled()
    {
        await using var host = await CredentialsHost.StartAsync();
        using var k1 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var k2 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string Key(ECDsa k) => Convert.ToBase64String(k.ExportSubjectPublicKeyInfo());
        var csv = $"""
            deviceId,attestationPublicKey,networkSegment
            csv-1,{Key(k1)},floor-a
            csv-2,not-a-key,floor-a
            csv-1,{Key(k2)},floor-b
            bad id!,{Key(k2)},floor-b
            csv-5,{Key(k2)},
            """;

        var response = await host.Harness.GetRequestClient<EnrollDevicesFromCsv>()
            .GetResponse<DevicesEnrolled, EnrollmentRejected>(new EnrollDevicesFromCsv { Csv = csv, RequestedBy = "test" });

        Assert.True(response.Is(out Response<EnrollmentRejected>? rejected));
        Assert.Equal([3, 4, 5, 6], rejected!.Message.Problems.Select(p => p.Line));
        Assert.Contains("appears twice", rejected.Message.Problems.Single(p => p.Line == 4).Problem);
        await using var connection = await host.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM devices;"));
    }

    [Fact]
    public async Task A_valid_csv_enrolls_every_device_and_registers_each_attestation_key_with_the_gateway()
    {
        await using var host = await CredentialsHost.StartAsync();
        var keys = Enumerable.Range(1, 5).Select(_ => ECDsa.Create(ECCurve.NamedCurves.nistP256)).ToList();
        var csv = "deviceId,attestationPublicKey,networkSegment\n" +
                  string.Join("\n", keys.Select((k, i) => $"bulk-{i},{Convert.ToBase64String(k.ExportSubjectPublicKeyInfo())},floor-a"));

        var response = await host.Harness.GetRequestClient<EnrollDevicesFromCsv>()
            .GetResponse<DevicesEnrolled, EnrollmentRejected>(new EnrollDevicesFromCsv { Csv = csv, RequestedBy = "test" });

        Assert.True(response.Is(out Response<DevicesEnrolled>? enrolled));
        Assert.Equal(5, enrolled!.Message.Devices.Select(d => d.IdentityCertificateSerial).Distinct().Count());
        var certificate = X509Certificate2.CreateFromPem(enrolled.Message.Devices[2].IdentityCertificate);
        Assert.Equal(keys[2].ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal("CN=Decommission Fleet CA, O=Decommission", certificate.Issuer);
        // Enrollment answered only after the gateway took each identity: the certificate over the device's key.
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"bulk-{i}"), host.Gateway.Registered.Keys.Order());
        Assert.Equal(certificate.RawData, Convert.FromBase64String(host.Gateway.Registered["bulk-2"]));
        keys.ForEach(k => k.Dispose());
    }

    [Fact]
    public async Task Enrollment_fails_and_says_why_when_the_gateway_holds_another_key_for_the_device()
    {
        await using var host = await CredentialsHost.StartAsync();
        host.Gateway.Refuse["held-1"] = "the gateway already holds attestation key abc for held-1; a different key is refused";
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csv = "deviceId,attestationPublicKey,networkSegment\n" +
                  $"fresh-1,{Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())},floor-a\n" +
                  $"held-1,{Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())},floor-a";

        var response = await host.Harness.GetRequestClient<EnrollDevicesFromCsv>()
            .GetResponse<DevicesEnrolled, EnrollmentRejected>(new EnrollDevicesFromCsv { Csv = csv, RequestedBy = "test" });

        Assert.True(response.Is(out Response<EnrollmentRejected>? rejected));
        var problem = Assert.Single(rejected!.Message.Problems);
        Assert.Equal(3, problem.Line);
        Assert.Contains("already holds attestation key", problem.Problem);
        // All or nothing: neither device is enrolled, so neither can be enrolled "successfully" with a key the gateway will not use.
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={host.DatabasePath}");
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM devices;";
        Assert.Equal(0L, (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task No_secret_appears_in_the_logs_or_the_database_in_clear()
    {
        await using var host = await CredentialsHost.StartAsync();
        var secrets = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var enrolled = await host.Enroll($"dev-s{i}");
            secrets.AddRange([enrolled.Secrets.CloudToken, enrolled.Secrets.ApiKey, enrolled.Secrets.AdminPassword]);
            Assert.True((await Check(host, $"dev-s{i}", enrolled.Secrets.ApiKey)).Valid);
        }
        await Quarantine(host, "dev-s0", Guid.NewGuid());
        await host.DisposeAsync();

        Assert.NotEmpty(host.Logs.Lines);
        var files = Directory.GetFiles(host.DataDirectory, "credentials.db*");
        var stored = string.Concat(files.Select(f => Encoding.Latin1.GetString(File.ReadAllBytes(f))));
        Assert.Contains("pbkdf2-sha256$", stored);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(host.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Revoked_identities_are_on_a_crl_that_openssl_verifies_against_the_fleet_ca()
    {
        await using var host = await CredentialsHost.StartAsync();
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
        Assert.True(Decommission.Sqlite.OwnerOnlyFile.IsOwnerOnly(Path.Combine(host.DataDirectory, "ca", "fleet-ca.key.pem")));
    }

    [Fact]
    public async Task Two_hundred_concurrent_revocations_share_crls_and_end_in_one_crl_with_all_two_hundred()
    {
        await using var host = await CredentialsHost.StartAsync();
        var enrolled = await EnrollMany(host, "many", 200);

        var publisher = host.Services.GetRequiredService<Revocation.CrlPublisher>();
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
        var publisher = host.Services.GetRequiredService<Revocation.CrlPublisher>();

        // Thirty revocations, one every 20 ms: each would otherwise find the previous CRL done and get its own.
        var stream = new List<Task<(string Serial, long CrlNumber, DateTimeOffset RevokedAt)?>>();
        foreach (var device in enrolled.Take(30))
        {
            stream.Add(Task.Run(() => publisher.RevokeAsync(device.DeviceId, Guid.NewGuid(), CancellationToken.None)));
            await Task.Delay(20);
        }
        var numbers = (await Task.WhenAll(stream)).Select(r => r!.Value.CrlNumber).Distinct().ToList();
        Assert.InRange(numbers.Count, 1, 10);

        // After a quiet spell longer than the pacing the next revocation does not wait.
        await Task.Delay(3000);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var lone = await publisher.RevokeAsync(enrolled[30].DeviceId, Guid.NewGuid(), CancellationToken.None);
        Assert.True(clock.ElapsedMilliseconds < 900, $"a lone revocation took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(numbers.Max() + 1, lone!.Value.CrlNumber);
    }

    [Fact]
    public async Task The_crl_is_served_publicly_over_http_and_a_repeat_revocation_keeps_its_number()
    {
        await using var host = await CredentialsHost.StartAsync();
        await host.Enroll("dev-http");
        using var http = new HttpClient { BaseAddress = host.BaseAddress };
        var empty = await CrlFacts.ReadAsync(await http.GetByteArrayAsync("/crl"));

        var publisher = host.Services.GetRequiredService<Revocation.CrlPublisher>();
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

    [Fact]
    public async Task The_fleet_ca_can_come_from_a_password_protected_pfx()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Operator CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var pfx = Path.Combine(Path.GetTempPath(), $"ca-{Guid.NewGuid():N}.pfx");
        await File.WriteAllBytesAsync(pfx, ca.Export(X509ContentType.Pfx, "s3cret-pfx"));

        await using var host = await CredentialsHost.StartAsync(new() { ["Credentials:CaPfxPath"] = pfx, ["Credentials:CaPfxPassword"] = "s3cret-pfx" });
        var enrolled = await host.Enroll("dev-pfx");

        Assert.Equal("CN=Operator CA", X509Certificate2.CreateFromPem(enrolled.IdentityCertificate).Issuer);
        Assert.False(Directory.Exists(Path.Combine(host.DataDirectory, "ca")));
    }

    private static async Task<(int Exit, string Output)> OpenSsl(params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("openssl did not start (ops/test.sh installs it)");
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }

    /// <summary>A CRL's number (read by .NET) and how many certificates it lists (read by openssl).</summary>
    /// <summary>Enrolls devices prefix-0 … prefix-(count-1), each with an attestation key of its own.</summary>
    private static async Task<IReadOnlyList<DeviceEnrolled>> EnrollMany(CredentialsHost host, string prefix, int count)
    {
        var keys = Enumerable.Range(0, count).Select(_ => ECDsa.Create(ECCurve.NamedCurves.nistP256)).ToList();
        var (enrolled, problems) = await host.Services.GetRequiredService<Enrollment.DeviceEnrollment>().EnrollAsync(keys.Select((k, i) => (i + 2, new EnrollDevice
        {
            DeviceId = $"{prefix}-{i}", AttestationPublicKey = Convert.ToBase64String(k.ExportSubjectPublicKeyInfo()), NetworkSegment = "floor", RequestedBy = "test",
        })).ToList(), CancellationToken.None);
        keys.ForEach(k => k.Dispose());
        Assert.Empty(problems);
        return enrolled;
    }

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
