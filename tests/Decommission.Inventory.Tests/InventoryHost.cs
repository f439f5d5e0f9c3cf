using Decommission.Contracts;
using Decommission.Inventory.EndOfLife;
using Decommission.ServiceDefaults;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Decommission.Inventory.Tests;

/// <summary>The real inventory service over MassTransit's test harness; several hosts may share one database file.</summary>
public sealed class InventoryHost : IAsyncDisposable
{
    private readonly IHost _host;

    private InventoryHost(IHost host, string databasePath)
    {
        _host = host;
        DatabasePath = databasePath;
    }

    public string DatabasePath { get; }
    public IServiceProvider Services => _host.Services;
    public ITestHarness Harness => _host.Services.GetRequiredService<ITestHarness>();
    public EndOfLifeScheduler Scheduler => _host.Services.GetRequiredService<EndOfLifeScheduler>();
    public InventoryDatabase Database => _host.Services.GetRequiredService<InventoryDatabase>();

    public static string NewDatabasePath() => Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"), "inventory.db");

    public static async Task<InventoryHost> StartAsync(string? databasePath = null)
    {
        databasePath ??= NewDatabasePath();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Test", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Inventory:DatabasePath"] = databasePath,
            ["Inventory:EndOfLifeScanInterval"] = "00:00:00",   // tests drive the scans
            ["Inventory:ResendUnsentAfter"] = "00:00:01",
        });
        builder.AddServiceDefaults();
        builder.AddInventoryService();
        builder.Services.AddMassTransitTestHarness(bus => builder.ApplyBusRegistrations(bus));
        var host = builder.Build();
        await host.StartAsync();
        return new InventoryHost(host, databasePath);
    }

    public async Task<DevicesImported> Import(string csv) =>
        (await Harness.GetRequestClient<ImportDevices>().GetResponse<DevicesImported>(new ImportDevices { Csv = csv, RequestedBy = "test" })).Message;

    public async Task<T> WaitForPublished<T>(Func<T, bool> match) where T : class
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < until)
        {
            if (Harness.Published.Select<T>().Select(m => m.Context.Message).FirstOrDefault(match) is { } found)
                return found;
            await Task.Delay(20);
        }
        throw new Xunit.Sdk.XunitException($"expected a {typeof(T).Name}");
    }

    public IReadOnlyList<(string DeviceId, Guid? MessageId)> SentRetirements() =>
        Harness.Sent.Select<RetireDevice>().Select(m => (m.Context.Message.DeviceId, m.Context.MessageId)).ToList();

    public static string Csv(IEnumerable<(string Id, DateOnly? EndOfLife)> devices) =>
        "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n" +
        string.Join("\n", devices.Select(d => $"{d.Id},Acme,TH-200,SN-{d.Id},A-{d.Id},eMMC,Plant ops,Lyon,floor,{d.EndOfLife:yyyy-MM-dd}"));

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
