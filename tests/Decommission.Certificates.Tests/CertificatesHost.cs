using Decommission.Certificates.Apis;
using Decommission.Contracts;
using Decommission.ServiceDefaults;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decommission.Certificates.Tests;

/// <summary>The real certificates service with its HTTP API on 127.0.0.1, over MassTransit's test harness.</summary>
public sealed class CertificatesHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CertificatesHost(WebApplication app, string dataDirectory)
    {
        _app = app;
        DataDirectory = dataDirectory;
    }

    public string DataDirectory { get; }
    public IServiceProvider Services => _app.Services;
    public ITestHarness Harness => _app.Services.GetRequiredService<ITestHarness>();
    public Uri BaseAddress => new(_app.Urls.First());

    public static async Task<CertificatesHost> StartAsync()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Certificates:DatabasePath"] = Path.Combine(dataDirectory, "certificates.db"),
            ["Certificates:DataDirectory"] = dataDirectory,
        });
        builder.AddServiceDefaults();
        builder.AddCertificatesService();
        builder.Services.AddMassTransitTestHarness(bus => builder.ApplyBusRegistrations(bus));
        var app = builder.Build();
        app.MapHealthChecks("/health");
        app.MapCertificatesApi();
        await app.StartAsync();
        return new CertificatesHost(app, dataDirectory);
    }

    public HttpClient Client(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (apiKey is not null)
            client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.Header, apiKey);
        return client;
    }

    public Task<string> NewKey(string role) => Services.GetRequiredService<ApiKeyStore>().CreateAsync($"{role}-{Guid.NewGuid():N}"[..16], role);

    /// <summary>Orders a certificate as the saga would and waits for it to be announced.</summary>
    public async Task<DisposalCertificateIssued> Issue(IssueDisposalCertificate order)
    {
        var before = Harness.Published.Select<DisposalCertificateIssued>().Count(m => m.Context.Message.RetirementId == order.RetirementId);
        await Harness.Bus.Publish(order);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            var issued = Harness.Published.Select<DisposalCertificateIssued>().Select(m => m.Context.Message).Where(m => m.RetirementId == order.RetirementId).ToList();
            if (issued.Count > before)
                return issued.Last();
            await Task.Delay(20);
        }
        throw new Xunit.Sdk.XunitException($"no certificate was announced for {order.RetirementId}");
    }

    public static IssueDisposalCertificate PurgeOrder(string deviceId = "dev-cert", string sanitizationType = "Purge") => new()
    {
        RetirementId = NewId.NextGuid(),
        DeviceId = deviceId,
        Device = new DeviceSnapshot
        {
            Manufacturer = "Acme Sensors", Model = "TH-200", SerialNumber = $"SN-{deviceId}", AssetNumber = "ASSET-0042",
            MediaType = "eMMC 8 GB", Owner = "Plant operations", Site = "Lyon plant",
        },
        SanitizationType = sanitizationType,
        Evidence = sanitizationType == "Purge"
            ? new ErasureEvidence
            {
                Method = "CryptographicErase", DestroyedKeyIds = ["media-key:3fa2c1d9", "slot:user"], AreasCovered = ["user-data"],
                AreasNotCovered = ["boot-rom"], SelfCheckPassed = true, CompletedAt = DateTimeOffset.UtcNow, ReceiptSha256 = new string('a', 64),
            }
            : null,
        Destruction = sanitizationType == "Destroy"
            ? new PhysicalDestruction { Method = "Shredding", PerformedBy = "erin", Witness = "frank", Location = "Recycler GmbH", DestroyedAt = DateTimeOffset.UtcNow }
            : null,
        RevokedCredentials = [new RevokedCredential { Kind = "ApiKey", CredentialId = "ApiKey:x", RevokedAt = DateTimeOffset.UtcNow }],
        IdentityCertificateSerial = "7F01",
        Reason = "end of life",
        RequestedBy = "alice",
        RequestedAt = DateTimeOffset.UtcNow.AddMinutes(-5),
        AuditTrail = [new AuditEntry { At = DateTimeOffset.UtcNow, FromState = "Initial", ToState = "Requested", Event = "RetireDevice", Actor = "alice" }],
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
