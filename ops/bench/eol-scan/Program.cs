using System.Diagnostics;
using System.Globalization;
using System.Text;
using Decommission.Inventory;
using Decommission.Inventory.Devices;
using Decommission.Inventory.EndOfLife;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

// Usage: <devices=100000>. Imports an inventory whose end-of-life dates spread over ten years (0.2 % due today), then times
// the scheduler's scan with batches of 100: the first scan of the process (claims and sends a batch, and pays for the
// JIT), the next one (claims and sends the second batch: the scan as a running scheduler does it), and the steady-state
// scan that finds nothing due. Prints "key value" lines (milliseconds, median of 20 steady-state scans).
var devices = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
var directory = Directory.CreateTempSubdirectory("decom-eol-scan-");
try
{
    var database = new InventoryDatabase(Path.Combine(directory.FullName, "inventory.db"));
    await database.MigrateAsync();
    var today = DateOnly.FromDateTime(DateTime.UtcNow);
    var csv = new StringBuilder("deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n");
    for (var i = 0; i < devices; i++)
        csv.Append(CultureInfo.InvariantCulture, $"eol-{i:D6},Acme,TH-200,SN-{i},A-{i},eMMC,Ops,Lyon,floor,{(i % 500 == 0 ? today : today.AddDays(1 + i % 3650)):yyyy-MM-dd}\n");
    var clock = Stopwatch.StartNew();
    await new DeviceImport(new DeviceStore(database), TimeProvider.System).ImportAsync(csv.ToString(), CancellationToken.None);
    Console.Error.WriteLine($"eol-scan: {devices} devices imported in {clock.Elapsed.TotalSeconds:F1} s");

    var bus = Bus.Factory.CreateUsingInMemory(_ => { });
    await bus.StartAsync();
    var scheduler = new EndOfLifeScheduler(new DeviceStore(database), bus, Options.Create(new InventoryOptions { EndOfLifeBatchSize = 100 }), TimeProvider.System,
        NullLogger<EndOfLifeScheduler>.Instance);
    clock.Restart();
    var sent = await scheduler.ScanOnceAsync();
    Console.WriteLine($"eol_scan_first_ms {clock.Elapsed.TotalMilliseconds:F1}");
    clock.Restart();
    var second = await scheduler.ScanOnceAsync();
    Console.WriteLine($"eol_scan_due_ms {clock.Elapsed.TotalMilliseconds:F1}");
    if (sent.Count != 100 || second.Count != 100 || sent.Intersect(second).Any())
        throw new InvalidOperationException($"expected two distinct batches of 100, got {sent.Count} and {second.Count}");
    Console.WriteLine($"eol_scan_due_devices {second.Count}");
    var idle = new List<double>();
    for (var i = 0; i < 20; i++)
    {
        clock.Restart();
        await scheduler.ScanOnceAsync();
        idle.Add(clock.Elapsed.TotalMilliseconds);
    }
    idle.Sort();
    Console.WriteLine($"eol_scan_idle_ms {idle[idle.Count / 2]:F2}");
    Console.WriteLine($"eol_inventory {devices}");
    await bus.StopAsync();
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    directory.Delete(recursive: true);
}
