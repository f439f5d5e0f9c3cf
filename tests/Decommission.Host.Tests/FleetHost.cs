using System.Net.Http.Json;
using Decommission.Certificates.Apis;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Host.Tests;

/// <summary>
/// The all-in-one host as serve runs it (every service, the auditor's and operator's API on 127.0.0.1:0) with an in-process
/// fleet of simulated devices, imported into the inventory and enrolled; API keys made as the certificates service makes them.
/// </summary>
public sealed class FleetHost : IAsyncDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
    private WebApplication _app = null!;

    public Uri BaseAddress { get; private set; } = null!;
    public IServiceProvider Services => _app.Services;

    public static async Task<FleetHost> StartAsync(IReadOnlyList<DeviceSpec> devices, IDictionary<string, string?>? settings = null)
    {
        var host = new FleetHost();
        var overrides = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Inventory:EndOfLifeScanInterval"] = "00:00:00",
            ["Orchestrator:SweepInterval"] = "00:00:00.200",
            ["Orchestrator:CampaignInterval"] = "00:00:00.200",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            overrides[key] = value;
        host._app = AllInOne.CreateBuilder([], host._data, overrides).Build();
        host._app.MapDefaultEndpoints();
        host._app.MapCertificatesApi();
        await host._app.StartAsync();
        host.BaseAddress = new Uri(host._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        await host.EnrollAsync(devices);
        return host;
    }

    /// <summary>An HTTP client sending a new API key of <paramref name="role"/> named <paramref name="name"/>.</summary>
    public async Task<HttpClient> ClientAsync(string name, string role)
    {
        var key = await Services.GetRequiredService<ApiKeyStore>().CreateAsync(name, role);
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.Header, key);
        return client;
    }

    // The fleet as demo and serve make theirs: each device's state under the data directory, imported and enrolled.
    private async Task EnrollAsync(IReadOnlyList<DeviceSpec> specs)
    {
        await SimulatedFleet.AddAsync(Services, specs, Path.Combine(_data, "devices"));
        await SimulatedFleet.EnrollAsync(Services, "campaign test");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class CampaignCalls
{
    public static async Task<(System.Net.HttpStatusCode Status, CampaignView? View, string Body)> PostAsync(this HttpClient client, string path, object? body = null)
    {
        using var response = await client.PostAsJsonAsync(path, body ?? new { });
        var text = await response.Content.ReadAsStringAsync();
        var view = response.IsSuccessStatusCode ? System.Text.Json.JsonSerializer.Deserialize<CampaignView>(text, Json) : null;
        return (response.StatusCode, view, text);
    }

    public static async Task<CampaignView> CampaignAsync(this HttpClient client, Guid id) =>
        (await client.GetFromJsonAsync<CampaignView>($"/api/campaigns/{id}", Json))!;

    public static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web);
}
