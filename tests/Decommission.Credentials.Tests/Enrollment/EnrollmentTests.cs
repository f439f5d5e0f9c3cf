using Decommission.Testing;
using Decommission.Storage;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Dapper;
using Decommission.Contracts;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using static Decommission.Credentials.Tests.CredentialsSteps;

namespace Decommission.Credentials.Tests.Enrollment;

/// <summary>Unique credentials per device, each identity registered with the gateway, and no secret kept in clear.</summary>
public sealed class EnrollmentTests
{
    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_csv_with_bad_rows_is_refused_by_line_and_nothing_is_enrolled(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
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

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_valid_csv_enrolls_every_device_and_registers_each_attestation_key_with_the_gateway(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
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

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Enrollment_fails_and_says_why_when_the_gateway_holds_another_key_for_the_device(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
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
        await using var connection = await host.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM devices;"));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_retired_device_id_cannot_enroll_again_alone_or_in_a_csv(SqlDialect engine)
    {
        await using var host = await CredentialsHost.StartAsync(engine: engine);
        var first = await host.Enroll("retired-1");
        var retirement = Guid.NewGuid();
        await Quarantine(host, "retired-1", retirement);
        await host.Harness.Bus.Publish(new RevokeIdentity { RetirementId = retirement, DeviceId = "retired-1" });
        await host.WaitForPublished<IdentityRevoked>(m => m.RetirementId == retirement);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var again = await host.Harness.GetRequestClient<EnrollDevice>().GetResponse<DeviceEnrolled, EnrollmentRejected>(new EnrollDevice
        {
            DeviceId = "retired-1", AttestationPublicKey = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()), NetworkSegment = "floor-a", RequestedBy = "test",
        });
        Assert.True(again.Is(out Response<EnrollmentRejected>? refused));
        var problem = Assert.Single(refused!.Message.Problems).Problem;
        Assert.Contains("retired", problem);
        Assert.Contains(first.IdentityCertificateSerial, problem);
        Assert.Contains("cannot enroll again", problem);

        var csv = "deviceId,attestationPublicKey,networkSegment\n" +
                  $"fresh-1,{Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())},floor-a\n" +
                  $"retired-1,{Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())},floor-a";
        var batch = await host.Harness.GetRequestClient<EnrollDevicesFromCsv>()
            .GetResponse<DevicesEnrolled, EnrollmentRejected>(new EnrollDevicesFromCsv { Csv = csv, RequestedBy = "test" });

        Assert.True(batch.Is(out Response<EnrollmentRejected>? rejected));
        var line = Assert.Single(rejected!.Message.Problems);
        Assert.Equal(3, line.Line);
        Assert.Contains("cannot enroll again", line.Problem);
        // All or nothing: the fresh device of the refused file is neither enrolled nor registered with the gateway.
        Assert.False(host.Gateway.Registered.ContainsKey("fresh-1"));
        await using var connection = await host.Services.GetRequiredService<CredentialsDatabase>().OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM devices WHERE device_id = 'fresh-1';"));
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
        await host.StopAsync();

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
}
