using Decommission.Certificates.Apis;
using Decommission.Contracts;
using Decommission.ServiceDefaults;
using MassTransit;
using MassTransit.Testing;
using System.Net.Http.Json;
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

    private CertificatesHost(WebApplication app, string dataDirectory, EvidenceFactory evidence)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Evidence = evidence;
    }

    public string DataDirectory { get; }

    /// <summary>The fleet CA and gateway key this service trusts, and devices they vouch for.</summary>
    public EvidenceFactory Evidence { get; }
    public IServiceProvider Services => _app.Services;
    public ITestHarness Harness => _app.Services.GetRequiredService<ITestHarness>();
    public Uri BaseAddress => new(_app.Urls.First());

    public static async Task<CertificatesHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, bool writeTrustFiles = true)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
        var evidence = new EvidenceFactory();
        var trust = Path.Combine(dataDirectory, "trust");
        if (writeTrustFiles)
            evidence.WriteTrustFiles(trust);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Certificates:DatabasePath"] = Path.Combine(dataDirectory, "certificates.db"),
            ["Certificates:DataDirectory"] = dataDirectory,
            ["Certificates:FleetCaCertificatePath"] = Path.Combine(trust, "fleet-ca.pem"),
            ["Certificates:CommandSigningPublicKeyPath"] = Path.Combine(trust, "command-signing.pub.pem"),
        });
        if (settings is not null)
            builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults();
        builder.AddCertificatesService();
        builder.Services.AddMassTransitTestHarness(bus => builder.ApplyBusRegistrations(bus));
        var app = builder.Build();
        app.MapHealthChecks("/health");
        app.MapCertificatesApi();
        await app.StartAsync();
        return new CertificatesHost(app, dataDirectory, evidence);
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
            Harness.Published.Select<DisposalCertificateIssued>().Count(m => m.Context.Message.RetirementId == order.RetirementId)
            + Harness.Published.Select<DisposalCertificateRefused>().Count(m => m.Context.Message.RetirementId == order.RetirementId);
        var before = Answers();
        await Harness.Bus.Publish(order);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            if (Answers() > before)
            {
                var issued = Harness.Published.Select<DisposalCertificateIssued>().Select(m => m.Context.Message).LastOrDefault(m => m.RetirementId == order.RetirementId);
                var refused = Harness.Published.Select<DisposalCertificateRefused>().Select(m => m.Context.Message).LastOrDefault(m => m.RetirementId == order.RetirementId);
                return (issued, refused);
            }
            await Task.Delay(20);
        }
        throw new Xunit.Sdk.XunitException($"no certificate was announced or refused for {order.RetirementId}");
    }

    /// <summary>An order for a Purge certificate as the saga sends it, with real evidence this service trusts.</summary>
    public IssueDisposalCertificate PurgeOrder(string deviceId = "dev-cert") => Evidence.PurgeOrder(deviceId);

    /// <summary>An order for a Destroy certificate, after the destruction was recorded by one key and witnessed by another.</summary>
    public async Task<IssueDisposalCertificate> DestroyOrderAsync(string deviceId = "dev-cert")
    {
        var order = Evidence.PurgeOrder(deviceId) with { SanitizationType = "Destroy", Evidence = null };
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
        await _app.StopAsync();
        await _app.DisposeAsync();
        Evidence.Dispose();
    }
}
