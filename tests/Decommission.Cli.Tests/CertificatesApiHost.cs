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
using MassTransit;
using MassTransit.Testing;

namespace Decommission.Cli.Tests;

/// <summary>The real certificates service and its API on 127.0.0.1; certificates are issued directly, as its consumer would.</summary>
public sealed class CertificatesApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly Certificates.Tests.EvidenceFactory _evidence;

    private CertificatesApiHost(WebApplication app, Certificates.Tests.EvidenceFactory evidence)
    {
        _app = app;
        _evidence = evidence;
    }

    public string Address => _app.Urls.First();

    public ITestHarness Harness => _app.Services.GetRequiredService<ITestHarness>();

    public static async Task<CertificatesApiHost> StartAsync()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
        var evidence = new Certificates.Tests.EvidenceFactory();
        var (fleetCa, commandKey) = evidence.WriteTrustFiles(Path.Combine(dataDirectory, "trust"));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Certificates:DatabasePath"] = Path.Combine(dataDirectory, "certificates.db"),
            ["Certificates:DataDirectory"] = dataDirectory,
            ["Certificates:FleetCaCertificatePath"] = fleetCa,
            ["Certificates:CommandSigningPublicKeyPath"] = commandKey,
        });
        builder.AddServiceDefaults();
        builder.AddCertificatesService();
        // A witnessed destruction is sent to the saga: the harness keeps it for the test to see.
        builder.Services.AddMassTransitTestHarness(bus => builder.ApplyBusRegistrations(bus));
        var app = builder.Build();
        app.MapCertificatesApi();
        await app.StartAsync();
        return new CertificatesApiHost(app, evidence);
    }

    public Task<string> NewKey(string role, string? name = null) =>
        _app.Services.GetRequiredService<ApiKeyStore>().CreateAsync(name ?? $"{role}-{Guid.NewGuid():N}"[..16], role);

    public async Task<CertificateRecord> Issue(string deviceId)
    {
        var outcome = await _app.Services.GetRequiredService<CertificateIssuer>().IssueAsync(
            _evidence.PurgeOrder(deviceId) with { Device = PlayedServicesSnapshot }, CancellationToken.None);
        return outcome.Certificate ?? throw new InvalidOperationException($"refused: {outcome.Reason}: {outcome.Detail}");
    }

    private static DeviceSnapshot PlayedServicesSnapshot => Testing.PlayedServices.Snapshot;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _evidence.Dispose();
    }
}
