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
        var due = Enumerable.Range(0, 400).Select(i => Device($"due-{i:D3}", Today.AddDays(-(i % 7)))).ToList();
        await replicas[0].UpsertAsync([.. due, Device("future", Today.AddDays(3))], DateTimeOffset.UtcNow, CancellationToken.None);

        // Each replica claims small batches in a loop until nothing is left; both run at once.
        async Task<List<string>> ClaimAll(DeviceStore store, string instance)
        {
            var mine = new List<string>();
            while (true)
            {
                var now = DateTimeOffset.UtcNow;
                var claimed = await store.ClaimDueAsync(instance, Today, batch: 25, staleBefore: now.AddHours(-1), now);
                if (claimed.Count == 0)
                    return mine;
                mine.AddRange(claimed.Select(c => c.DeviceId));
            }
        }
        var claims = await Task.WhenAll(
            Task.Run(() => ClaimAll(replicas[0], "replica-a")), Task.Run(() => ClaimAll(replicas[1], "replica-b")),
            Task.Run(() => ClaimAll(replicas[0], "replica-a")), Task.Run(() => ClaimAll(replicas[1], "replica-b")));

        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(due.Select(d => d.DeviceId).Order(), all.Order());
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Two_replicas_admitting_two_retirements_of_one_device_at_once_admit_one(SqlDialect engine)
    {
        var (location, replicas) = await TwoReplicas(engine);
        await replicas[0].UpsertAsync([Device("contested", null)], DateTimeOffset.UtcNow, CancellationToken.None);
        var retirements = new[] { Guid.NewGuid(), Guid.NewGuid() };

        // The rule takes its time between reading the device and marking it: the other replica's admission runs meanwhile.
        var outcomes = await Task.WhenAll(retirements.Select((retirement, i) => Task.Run(() => replicas[i].AdmitAsync(retirement, "contested", found =>
        {
            Thread.Sleep(300);
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
