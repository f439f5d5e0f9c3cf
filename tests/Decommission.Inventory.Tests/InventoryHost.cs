using Decommission.Contracts;
using Decommission.Inventory.EndOfLife;
using Decommission.Storage;
using Decommission.Testing;
using MassTransit.Testing;

namespace Decommission.Inventory.Tests;

/// <summary>The real inventory service as a <see cref="ServiceUnderTest"/> over MassTransit's test harness; several hosts may share one database (a SQLite file, or a PostgreSQL database).</summary>
public sealed class InventoryHost : IAsyncDisposable
{
    private readonly ServiceUnderTest _service;

    private InventoryHost(ServiceUnderTest service, string databasePath)
    {
        _service = service;
        DatabasePath = databasePath;
    }

    public string DatabasePath { get; }
    public IServiceProvider Services => _service.Services;
    public ITestHarness Harness => _service.Harness;
    public EndOfLifeScheduler Scheduler => _service.Get<EndOfLifeScheduler>();
    public InventoryDatabase Database => _service.Get<InventoryDatabase>();

    public static string NewDatabasePath() => Path.Combine(ServiceUnderTest.NewDataDirectory(), "inventory.db");

    /// <summary>
    /// A database inventories share: a SQLite file (its path), or (<paramref name="engine"/> PostgreSQL) a fresh PostgreSQL
    /// database given as <c>Storage:Postgres</c>, where each host makes the inventory schema.
    /// </summary>
    public static async Task<(string? Path, string? Postgres)> NewDatabase(SqlDialect engine) =>
        engine == SqlDialect.Sqlite ? (NewDatabasePath(), null) : (null, await PostgresServer.NewDatabaseAsync());

    public static Task<InventoryHost> StartAsync((string? Path, string? Postgres) database) => StartAsync(database.Path, database.Postgres);

    public static async Task<InventoryHost> StartAsync(SqlDialect engine) => await StartAsync(await NewDatabase(engine));

    public static async Task<InventoryHost> StartAsync(string? databasePath = null, string? postgres = null)
    {
        var service = await ServiceUnderTest.StartAsync(new ServiceUnderTestOptions
        {
            DataDirectory = databasePath is null ? null : Path.GetDirectoryName(databasePath),
            Settings = directory => new Dictionary<string, string?>
            {
                ["Inventory:DatabasePath"] = databasePath ?? Path.Combine(directory, "inventory.db"),
                ["Inventory:EndOfLifeScanInterval"] = "00:00:00",   // tests drive the scans
                ["Inventory:ResendUnsentAfter"] = "00:00:01",
                ["Storage:Postgres"] = postgres,
            },
            AddService = builder => builder.AddInventoryService(),
        });
        return new InventoryHost(service, databasePath ?? Path.Combine(service.DataDirectory, "inventory.db"));
    }

    public async Task<DevicesImported> Import(string csv) =>
        (await Harness.GetRequestClient<ImportDevices>().GetResponse<DevicesImported>(new ImportDevices { Csv = csv, RequestedBy = "test" })).Message;

    public Task<T> WaitForPublished<T>(Func<T, bool> match) where T : class =>
        Eventually.First(() => BusTraffic.Of<T>(Harness), match, $"a {typeof(T).Name} to be published");

    /// <summary>The end-of-life scheduler's campaigns as sent, with their message ids.</summary>
    public IReadOnlyList<(StartCampaign Campaign, Guid? MessageId)> SentCampaigns() =>
        Harness.Sent.Select<StartCampaign>().Select(m => (m.Context.Message, m.Context.MessageId)).ToList();

    public static string Csv(IEnumerable<(string Id, DateOnly? EndOfLife)> devices) =>
        Csv(devices.Select(d => (d.Id, d.EndOfLife, "TH-200", "Plant ops", "Lyon")));

    public static string Csv(IEnumerable<(string Id, DateOnly? EndOfLife, string Model, string Owner, string Site)> devices) =>
        "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n" +
        string.Join("\n", devices.Select(d => $"{d.Id},Acme,{d.Model},SN-{d.Id},A-{d.Id},eMMC,{d.Owner},{d.Site},floor,{d.EndOfLife:yyyy-MM-dd}"));

    public ValueTask DisposeAsync() => _service.DisposeAsync();
}
