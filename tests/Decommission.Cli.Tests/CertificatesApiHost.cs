using Decommission.Certificates;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Issuing;
using Decommission.Contracts;
using Decommission.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decommission.Cli.Tests;

/// <summary>The real certificates service and its API on 127.0.0.1; certificates are issued directly, as its consumer would.</summary>
public sealed class CertificatesApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CertificatesApiHost(WebApplication app) => _app = app;

    public string Address => _app.Urls.First();

    public static async Task<CertificatesApiHost> StartAsync()
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
        var app = builder.Build();
        app.MapCertificatesApi();
        await app.StartAsync();
        return new CertificatesApiHost(app);
    }

    public Task<string> NewKey(string role) => _app.Services.GetRequiredService<ApiKeyStore>().CreateAsync($"{role}-{Guid.NewGuid():N}"[..16], role);

    public Task<CertificateRecord> Issue(string deviceId) =>
        _app.Services.GetRequiredService<CertificateIssuer>().IssueAsync(new IssueDisposalCertificate
        {
            RetirementId = Guid.NewGuid(),
            DeviceId = deviceId,
            Device = PlayedServicesSnapshot,
            SanitizationType = "Purge",
            Evidence = new ErasureEvidence
            {
                Method = "CryptographicErase", DestroyedKeyIds = ["media-key-1"], AreasCovered = ["user-data"], AreasNotCovered = ["boot-rom"],
                SelfCheckPassed = true, CompletedAt = DateTimeOffset.UtcNow, ReceiptSha256 = new string('a', 64),
            },
            RevokedCredentials = [new RevokedCredential { Kind = "ApiKey", CredentialId = "ApiKey:1", RevokedAt = DateTimeOffset.UtcNow }],
            IdentityCertificateSerial = "7F01",
            Reason = "end of life",
            RequestedBy = "alice",
            RequestedAt = DateTimeOffset.UtcNow.AddMinutes(-5),
            AuditTrail = [new AuditEntry { At = DateTimeOffset.UtcNow, FromState = "Initial", ToState = "Requested", Event = "RetireDevice", Actor = "alice" }],
        }, CancellationToken.None);

    private static DeviceSnapshot PlayedServicesSnapshot => Testing.PlayedServices.Snapshot;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
