using Dapper;
using Decommission.Storage;
using Decommission.Testing;
using System.Net.Http.Json;
using System.Text.Json;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Issuing;
using Decommission.Contracts;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Certificates.Tests;

/// <summary>The attack of issue 14: a leaked broker credential and made-up evidence must not yield a certificate.</summary>
public sealed class IssuingTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Forged_evidence_is_refused_with_the_failed_check_and_nothing_is_issued(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        using var attacker = new EvidenceFactory("Attacker CA");
        // What a forger can make: a receipt and command signed by keys of their own, and a certificate from their own CA.
        var order = host.PurgeOrder("dev-forged") with { Evidence = attacker.Evidence("dev-forged") };

        var refused = await host.Refuse(order);

        Assert.Equal(("dev-forged", WipeEvidenceChecks.IdentityNotFromFleetCa), (refused.DeviceId, refused.Reason));
        Assert.Contains("fleet CA", refused.Detail);
        Assert.False(Directory.Exists(Path.Combine(host.DataDirectory, "certificates"))
                     && Directory.EnumerateFiles(Path.Combine(host.DataDirectory, "certificates")).Any());
        Assert.Empty(await host.Services.GetRequiredService<CertificateStore>().PageAsync(null, null, null, null, 0, 10, CancellationToken.None));
        Assert.Empty(BusTraffic.Of<DisposalCertificateIssued>(host.Harness));
    }

    [Fact]
    public async Task Evidence_from_the_old_contract_without_the_signed_bytes_is_refused()
    {
        await using var host = await CertificatesHost.StartAsync();
        var order = host.PurgeOrder("dev-bare") with
        {
            Evidence = new ErasureEvidence
            {
                Method = "CryptographicErase", SelfCheckPassed = true, CompletedAt = DateTimeOffset.UtcNow, ReceiptSha256 = new string('a', 64),
            },
        };

        Assert.Equal(WipeEvidenceChecks.Malformed, (await host.Refuse(order)).Reason);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task One_erase_command_yields_one_certificate_whatever_retirement_presents_it(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var first = host.PurgeOrder("dev-once");
        await host.Issue(first);

        var replayed = await host.Refuse(first with { RetirementId = Guid.NewGuid() });

        // The gateway signed the command for the first retirement: another retirement cannot present its wipe.
        Assert.Equal(Decommission.DeviceProtocol.WipeEvidenceChecks.CommandForAnotherRetirement, replayed.Reason);
        Assert.Equal(first.RetirementId, (await host.Issue(first)).RetirementId); // the original order is still answered
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task The_certificates_facts_come_from_the_verified_receipt_not_from_the_order(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var order = host.PurgeOrder("dev-facts");
        // The order's summary lies; the signed receipt says boot-rom is not covered.
        order = order with { Evidence = order.Evidence! with { AreasNotCovered = [], DestroyedKeyIds = ["every-key"] } };

        var issued = await host.Issue(order);

        using var twin = JsonDocument.Parse(await host.StoredJson(issued.CertificateId));
        var certificate = twin.RootElement.GetProperty("certificate");
        Assert.Equal(["boot-rom"], certificate.GetProperty("areasNotCovered").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("every-key", certificate.GetProperty("destroyedKeyIds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(ProtocolSigning.KeyId(host.Evidence.DeviceKey("dev-facts")), certificate.GetProperty("deviceKeyId").GetString());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task The_certificate_states_the_gateways_times_beside_the_devices_claim_and_still_verifies(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var order = host.PurgeOrder("dev-times");
        var receivedAt = order.Evidence!.CompletedAt.AddSeconds(3);
        var issued = await host.Issue(order with { Evidence = order.Evidence with { ReceiptReceivedAt = receivedAt } });
        using var auditor = host.Client(await host.NewKey(ApiRoles.Auditor));

        using var twin = JsonDocument.Parse(await auditor.GetByteArrayAsync($"/api/certificates/{issued.CertificateId}"));
        var certificate = twin.RootElement.GetProperty("certificate");
        // The command's issue time is the one the gateway signed into the command.
        Assert.True(ProtocolSigning.TryParseTimestamp(
            twin.RootElement.GetProperty("evidence").GetProperty("commandFields").GetProperty("issuedAt").GetString()!, out var commandIssuedAt));
        Assert.Equal(order.Evidence.CompletedAt, certificate.GetProperty("sanitizedAt").GetDateTimeOffset());
        Assert.Equal(receivedAt, certificate.GetProperty("receiptReceivedAt").GetDateTimeOffset());
        Assert.Equal(commandIssuedAt, certificate.GetProperty("commandIssuedAt").GetDateTimeOffset());
        Assert.Contains("not part of the device-signed bytes", certificate.GetProperty("timeSources").GetString());

        var pdf = await auditor.GetByteArrayAsync($"/api/certificates/{issued.CertificateId}/pdf");
        var text = Pdf.PdfText.Read(pdf);
        static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"Sanitized at (device's clock) {Utc(order.Evidence.CompletedAt)}", text.LineWith("Sanitized at (device's clock)"));
        Assert.Equal($"Receipt received (gateway's clock) {Utc(receivedAt)} (not part of the device-signed receipt)", text.LineWith("Receipt received (gateway's clock)"));
        Assert.Equal($"Command issued (gateway's clock) {Utc(commandIssuedAt)}", text.LineWith("Command issued (gateway's clock)"));
        // The gateway's times lie outside the signed receipt: the evidence still re-verifies.
        Assert.Equal(VerificationResult.Valid, (await Verify(auditor, pdf)).Verdict);
    }

    [Fact]
    public async Task A_missing_trust_file_is_a_clear_error_and_is_read_once_it_exists()
    {
        await using var host = await CertificatesHost.StartAsync(writeTrustFiles: false);
        var trust = host.Services.GetRequiredService<EvidenceTrust>();

        var missing = Assert.Throws<FileNotFoundException>(() => trust.FleetCa);
        Assert.Contains("Certificates:FleetCaCertificatePath", missing.Message);
        Assert.Contains("does not exist", missing.Message);

        host.Evidence.WriteTrustFiles(Path.Combine(host.DataDirectory, "trust"));
        await host.Issue(host.PurgeOrder("dev-late"));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Verify_says_evidence_invalid_when_the_stored_evidence_no_longer_checks(SqlDialect engine)
    {
        await using var host = await CertificatesHost.StartAsync(engine: engine);
        var issued = await host.Issue(host.PurgeOrder("dev-evidence"));
        using var auditor = host.Client(await host.NewKey(ApiRoles.Auditor));
        var pdf = await auditor.GetByteArrayAsync($"/api/certificates/{issued.CertificateId}/pdf");
        Assert.Equal(VerificationResult.Valid, (await Verify(auditor, pdf)).Verdict);

        // Someone with write access to the store (the files, or the database) swaps the receipt in the twin for an edited one.
        var twin = JsonSerializer.Deserialize<CertificateJson>(await host.StoredJson(issued.CertificateId), CertificateIssuer.Json)!;
        var edited = EvidenceFactory.TamperReceipt(new ErasureEvidence { Receipt = twin.Evidence!.Receipt }, "boot-rom", "nothing!");
        var tampered = JsonSerializer.SerializeToUtf8Bytes(twin with { Evidence = twin.Evidence with { Receipt = edited.Receipt } }, CertificateIssuer.Json);
        if (engine == SqlDialect.Sqlite)
            await File.WriteAllBytesAsync(Path.Combine(host.DataDirectory, "certificates", issued.CertificateId + ".json"), tampered);
        else
        {
            await using var connection = await host.Services.GetRequiredService<CertificatesDatabase>().OpenAsync();
            Assert.Equal(1, await connection.ExecuteAsync("UPDATE certificate_documents SET json_bytes = @Json WHERE certificate_id = @Id;",
                new { Json = tampered, Id = issued.CertificateId }));
        }

        var result = await Verify(auditor, pdf);

        Assert.Equal((VerificationResult.EvidenceInvalid, issued.CertificateId), (result.Verdict, result.CertificateId));
        Assert.Contains(WipeEvidenceChecks.ReceiptHashMismatch, result.Detail);
    }

    private static async Task<VerificationResult> Verify(HttpClient client, byte[] pdf)
    {
        var content = new ByteArrayContent(pdf);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/pdf");
        var response = await client.PostAsync("/api/certificates/verify", content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<VerificationResult>(Web))!;
    }
}
