using Dapper;
using Decommission.Inventory.Devices;
using Decommission.Storage;
using Decommission.Testing;

namespace Decommission.Inventory.Tests;

/// <summary>
/// The device store on either engine, with two replicas (a database and a store each) on one file or schema: end-of-life
/// claims and admissions never give one device to two of them.
/// </summary>
public sealed class DeviceStoreTests
{
    private static readonly DateOnly Today = DateOnly.FromDateTime(DateTime.UtcNow);

    private static async Task<(DatabaseLocation Location, DeviceStore[] Replicas)> TwoReplicas(SqlDialect engine)
    {
        var location = PostgresServer.NewLocation(engine, "inventory");
        await new InventoryDatabase(location).MigrateAsync();
        return (location, [new DeviceStore(new InventoryDatabase(location)), new DeviceStore(new InventoryDatabase(location))]);
    }

    private static ImportedDevice Device(string id, DateOnly? endOfLife) =>
        new(id, "Acme", "TH-200", $"SN-{id}", $"A-{id}", "eMMC", "Plant ops", "Lyon", "floor", endOfLife);

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Two_replicas_claiming_end_of_life_at_once_never_take_one_device(SqlDialect engine)
    {
        var (_, replicas) = await TwoReplicas(engine);
        var claimed = new List<(int Replica, string DeviceId)>();
        var due = new List<string>();
        // Rounds of newly due devices; in each, both replicas claim everything due at the same moment.
        for (var round = 0; round < 6; round++)
        {
            var devices = Enumerable.Range(0, 100).Select(i => Device($"due-{round}-{i:D3}", Today.AddDays(-(i % 7)))).ToList();
            await replicas[0].UpsertAsync([.. devices, Device($"future-{round}", Today.AddDays(3))], DateTimeOffset.UtcNow, CancellationToken.None);
            due.AddRange(devices.Select(d => d.DeviceId));
            var start = new Barrier(2);
            var claims = await Task.WhenAll(Enumerable.Range(0, 2).Select(r => Task.Run(async () =>
            {
                start.SignalAndWait(TimeSpan.FromSeconds(10));
                var now = DateTimeOffset.UtcNow;
                return (await replicas[r].ClaimDueAsync($"replica-{r}", Today, batch: 1000, staleBefore: now.AddHours(-1), now, Guid.NewGuid())).Select(c => (r, c.DeviceId));
            })));
            claimed.AddRange(claims.SelectMany(c => c));
        }

        var all = claimed.Select(c => c.DeviceId).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(due.Order(), all.Order());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Two_replicas_admitting_two_retirements_of_one_device_at_once_admit_one(SqlDialect engine)
    {
        var (location, replicas) = await TwoReplicas(engine);
        await replicas[0].UpsertAsync([Device("contested", null)], DateTimeOffset.UtcNow, CancellationToken.None);
        var retirements = new[] { Guid.NewGuid(), Guid.NewGuid() };

        // Between reading the device and marking it, each admission waits (up to 2 s) until the other has read it too: both
        // read it before either marks it, unless the first read locks the row and the second waits for the first's commit.
        using var reads = new CountdownEvent(2);
        var outcomes = await Task.WhenAll(retirements.Select((retirement, i) => Task.Run(() => replicas[i].AdmitAsync(retirement, "contested", found =>
        {
            reads.Signal();
            reads.Wait(TimeSpan.FromSeconds(2));
            return RetirementAdmission.Decide("contested", retirement, found);
        }, DateTimeOffset.UtcNow, _ => Task.CompletedTask))));

        Assert.Single(outcomes, o => o.Refusal is null);
        var refused = Assert.Single(outcomes, o => o.Refusal is not null);
        Assert.Equal(Decommission.Contracts.RefusalReasons.AlreadyRetiring, refused.Refusal!.Reason);
        var winner = retirements[Array.FindIndex(outcomes, o => o.Refusal is null)];
        await using var connection = await new InventoryDatabase(location).OpenAsync();
        Assert.Equal(winner.ToString(), await connection.ExecuteScalarAsync<string>("SELECT retirement_id FROM devices WHERE device_id = 'contested';"));
    }
}
