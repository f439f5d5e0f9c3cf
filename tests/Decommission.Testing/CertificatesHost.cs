using System.Net.Http.Json;
using Decommission.Certificates;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Issuing;
using Decommission.Contracts;
using Decommission.Storage;
using MassTransit.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decommission.Testing;

/// <summary>
/// The real certificates service with its HTTP API on 127.0.0.1, over MassTransit's test harness, trusting <see cref="Evidence"/>;
/// on SQLite (the default) or on a fresh PostgreSQL database with the signing PFX replicas are given, where
/// <see cref="StartReplicaAsync"/> starts another replica on the same database.
/// </summary>
public sealed class CertificatesHost : IAsyncDisposable
{
    private readonly ServiceUnderTest _service;
    private readonly IReadOnlyDictionary<string, string?> _shared;
    private readonly bool _ownsEvidence;

    private CertificatesHost(ServiceUnderTest service, EvidenceFactory evidence, IReadOnlyDictionary<string, string?> shared, bool ownsEvidence)
    {
        _service = service;
        Evidence = evidence;
        _shared = shared;
        _ownsEvidence = ownsEvidence;
    }

    public string DataDirectory => _service.DataDirectory;

    /// <summary>The fleet CA and gateway key this service trusts, and devices they vouch for.</summary>
    public EvidenceFactory Evidence { get; }
    public IServiceProvider Services => _service.Services;
    public ITestHarness Harness => _service.Harness;
    public Uri BaseAddress => _service.BaseAddress;

    /// <summary>The API's address as an operator types it (no trailing slash).</summary>
    public string Address => _service.Address;

    /// <summary>Which engine the service stores in.</summary>
    public SqlDialect Engine => Services.GetRequiredService<CertificatesDatabase>().Dialect;

    /// <param name="bus">The harness (default: what the service sends can be inspected), or the real RabbitMQ node, beside a real orchestrator.</param>
    /// <param name="engine">SQLite in the data directory (the default), or a fresh PostgreSQL database (Storage:Postgres) with a signing PFX.</param>
    public static async Task<CertificatesHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, bool writeTrustFiles = true,
        TestBus bus = TestBus.Harness, SqlDialect engine = SqlDialect.Sqlite)
    {
        var shared = new Dictionary<string, string?>();
        if (engine == SqlDialect.Postgres)
        {
            // What every replica is given: the database, and the disposal authority's PFX and its password.
            var keys = Directory.CreateTempSubdirectory("decom-signing-").FullName;
            var password = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(18));
            SigningIdentity.CreatePfx(Path.Combine(keys, "signing.pfx"), Path.Combine(keys, "signing.pfx.ca-key.pem"), password, "Decommission");
            shared["Storage:Postgres"] = await PostgresServer.NewDatabaseAsync();
            shared["Certificates:SigningPfxPath"] = Path.Combine(keys, "signing.pfx");
            shared["Certificates:SigningPfxPassword"] = password;
        }
        return await StartAsync(new EvidenceFactory(), ownsEvidence: true, shared, settings, writeTrustFiles, bus);
    }

    /// <summary>Another replica of <paramref name="of"/> (PostgreSQL): the same database, signing PFX and trust, a data directory of its own.</summary>
    public static Task<CertificatesHost> StartReplicaAsync(CertificatesHost of, IReadOnlyDictionary<string, string?>? settings = null) =>
        of.Engine == SqlDialect.Postgres
            ? StartAsync(of.Evidence, ownsEvidence: false, of._shared, settings, writeTrustFiles: true, TestBus.Harness)
            : throw new InvalidOperationException("replicas share a PostgreSQL database: start the first host with engine: SqlDialect.Postgres");

    private static async Task<CertificatesHost> StartAsync(EvidenceFactory evidence, bool ownsEvidence, IReadOnlyDictionary<string, string?> shared,
        IReadOnlyDictionary<string, string?>? settings, bool writeTrustFiles, TestBus bus)
    {
        var service = await ServiceUnderTest.StartAsync(new ServiceUnderTestOptions
        {
            Settings = directory =>
            {
                var trust = Path.Combine(directory, "trust");
                if (writeTrustFiles)
                    evidence.WriteTrustFiles(trust);
                return new Dictionary<string, string?>(shared)
                {
                    ["Certificates:DatabasePath"] = Path.Combine(directory, "certificates.db"),
                    ["Certificates:DataDirectory"] = directory,
                    ["Certificates:FleetCaCertificatePath"] = Path.Combine(trust, "fleet-ca.pem"),
                    ["Certificates:CommandSigningPublicKeyPath"] = Path.Combine(trust, "command-signing.pub.pem"),
                };
            },
            Overrides = settings,
            Bus = bus,
            Logging = logging => logging.SetMinimumLevel(LogLevel.Warning),
            AddService = builder => builder.AddCertificatesService(),
            // A witnessed destruction is sent to the saga: the harness keeps it for the test to see.
            MapEndpoints = app =>
            {
                app.MapHealthChecks("/health");
                app.MapCertificatesApi();
            },
        });
        return new CertificatesHost(service, evidence, shared, ownsEvidence);
    }

    /// <summary>A certificate's signed PDF as the service keeps it (files or database), bypassing the API.</summary>
    public async Task<byte[]> StoredPdf(string certificateId) =>
        await Archive.ReadPdfAsync((await Find(certificateId))!, CancellationToken.None);

    /// <summary>A certificate's JSON twin as the service keeps it (files or database), bypassing the API.</summary>
    public async Task<byte[]> StoredJson(string certificateId) =>
        await Archive.ReadJsonAsync((await Find(certificateId))!, CancellationToken.None);

    private CertificateArchive Archive => Services.GetRequiredService<CertificateArchive>();

    private Task<CertificateRecord?> Find(string certificateId) => Services.GetRequiredService<CertificateStore>().FindAsync(certificateId, CancellationToken.None);

    public HttpClient Client(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (apiKey is not null)
            client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.Header, apiKey);
        return client;
    }

    public Task<string> NewKey(string role, string? name = null) =>
        Services.GetRequiredService<ApiKeyStore>().CreateAsync(name ?? $"{role}-{Guid.NewGuid():N}"[..16], role);

    /// <summary>Issues a Purge certificate directly, as the service's consumer would, for a device the played inventory describes.</summary>
    public async Task<CertificateRecord> Issue(string deviceId)
    {
        var outcome = await Services.GetRequiredService<CertificateIssuer>().IssueAsync(
            Evidence.PurgeOrder(deviceId) with { Device = PlayedServices.Snapshot }, CancellationToken.None);
        return outcome.Certificate ?? throw new InvalidOperationException($"refused: {outcome.Reason}: {outcome.Detail}");
    }

    /// <summary>Orders a certificate as the saga would and waits for it to be announced.</summary>
    public async Task<DisposalCertificateIssued> Issue(IssueDisposalCertificate order)
    {
        var (issued, refused) = await Order(order);
        return issued ?? throw new Xunit.Sdk.XunitException($"the certificate for {order.RetirementId} was refused: {refused!.Reason}: {refused.Detail}");
    }

    /// <summary>Orders a certificate as the saga would and waits for it to be refused.</summary>
    public async Task<DisposalCertificateRefused> Refuse(IssueDisposalCertificate order)
    {
        var (issued, refused) = await Order(order);
        return refused ?? throw new Xunit.Sdk.XunitException($"certificate {issued!.CertificateId} was issued for {order.RetirementId}");
    }

    /// <summary>Publishes the order and waits for the service's answer to it (a redelivered order is answered again).</summary>
    public async Task<(DisposalCertificateIssued? Issued, DisposalCertificateRefused? Refused)> Order(IssueDisposalCertificate order)
    {
        int Answers() =>
            BusTraffic.Of<DisposalCertificateIssued>(Harness).Count(m => m.RetirementId == order.RetirementId)
            + BusTraffic.Of<DisposalCertificateRefused>(Harness).Count(m => m.RetirementId == order.RetirementId);
        var before = Answers();
        await Harness.Bus.Publish(order);
        await Eventually.True(() => Answers() > before, $"a certificate announced or refused for {order.RetirementId}", TimeSpan.FromSeconds(30));
        var issued = BusTraffic.Of<DisposalCertificateIssued>(Harness).LastOrDefault(m => m.RetirementId == order.RetirementId);
        var refused = BusTraffic.Of<DisposalCertificateRefused>(Harness).LastOrDefault(m => m.RetirementId == order.RetirementId);
        return (issued, refused);
    }

    /// <summary>An order for a Purge certificate as the saga sends it, with real evidence this service trusts.</summary>
    public IssueDisposalCertificate PurgeOrder(string deviceId = "dev-cert") => Evidence.PurgeOrder(deviceId);

    /// <summary>An order for a Destroy certificate, after the destruction was recorded by one key and witnessed by another.</summary>
    public async Task<IssueDisposalCertificate> DestroyOrderAsync(string deviceId = "dev-cert")
    {
        var order = Evidence.PurgeOrder(deviceId) with { SanitizationType = SanitizationTypes.Destroy, Evidence = null };
        using var recorder = Client(await NewKey(ApiRoles.Operator));
        using var witness = Client(await NewKey(ApiRoles.Auditor));
        var created = await recorder.PostAsJsonAsync("/api/destructions", new
        {
            order.RetirementId, order.DeviceId, Method = "Shredding", Location = "Recycler GmbH", DestroyedAt = DateTimeOffset.UtcNow.AddMinutes(-3),
        });
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("recordId").GetString();
        (await witness.PostAsync($"/api/destructions/{id}/witness", null)).EnsureSuccessStatusCode();
        return order;
    }

    public async ValueTask DisposeAsync()
    {
        await _service.DisposeAsync();
        if (!_ownsEvidence)
            return;
        Evidence.Dispose();
        // The signing PFX this host's replicas were given.
        if (_shared.GetValueOrDefault("Certificates:SigningPfxPath") is { } pfx)
            Directory.Delete(Path.GetDirectoryName(pfx)!, recursive: true);
    }
}
