using Decommission.Contracts;
using Decommission.Testing;
using MassTransit;

namespace Decommission.Orchestrator.Tests;

/// <summary>
/// The broker goes away right after the saga committed a transition and before what the transition sends reached it.
/// Nothing is lost and nobody waits for a timer: the re-drive, the deadline re-raise and the outbox's backstop are all set
/// to an hour here, so only the redelivery of the consumed message (which finds what it sent in the outbox) can save it.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class BrokerOutageTests
{
    private static readonly Dictionary<string, string?> NoTimers = new()
    {
        ["Retirement:RedriveInterval"] = "01:00:00",
        ["Orchestrator:ReraiseAfter"] = "01:00:00",
        ["Outbox:DeliverAfter"] = "01:00:00",
        ["Outbox:SweepInterval"] = "01:00:00",
    };

    [Fact]
    public async Task A_broker_outage_right_after_the_final_commit_still_tells_the_inventory_the_device_is_decommissioned()
    {
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(bus =>
        {
            PlayedServices.Register(bus);
            bus.AddConsumer<DecommissionedDevices>().Endpoint(e => e.Name = "outage-test-inventory");
        }, NoTimers);
        await using var outage = new BrokerOutage();
        using var hook = outage.BeginOnFirstSendOf<DeviceDecommissioned>(host.Bus, lasting: TimeSpan.FromSeconds(3));
        var deviceId = $"outage-final-{Guid.NewGuid():N}";

        var id = await new Scenario(host).Retire(deviceId);

        await host.WaitForState(id, "Completed", seconds: 30);
        var told = await Eventually.Get(() => DecommissionedDevices.Seen.TryGetValue(deviceId, out var at) ? at : (DateTimeOffset?)null,
            at => at is not null, $"DeviceDecommissioned for {deviceId} to reach the inventory's queue", TimeSpan.FromSeconds(30));
        Assert.NotNull(outage.BeganAt);
        Assert.True(told > outage.BeganAt, "the event arrived after the outage began");
    }

    [Fact]
    public async Task A_broker_outage_right_after_a_step_commit_still_runs_the_next_step()
    {
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register, NoTimers);
        await using var outage = new BrokerOutage();
        // DeviceQuarantined is committed as the move to Erasing; the erase order is what the broker must not lose.
        using var hook = outage.BeginOnFirstSendOf<EraseDevice>(host.Bus, lasting: TimeSpan.FromSeconds(3));

        var id = await new Scenario(host).Retire($"outage-step-{Guid.NewGuid():N}");

        await host.WaitForState(id, "Completed", seconds: 30);
        Assert.NotNull(outage.BeganAt);
    }

    public sealed class DecommissionedDevices : IConsumer<DeviceDecommissioned>
    {
        public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> Seen = new();

        public Task Consume(ConsumeContext<DeviceDecommissioned> context)
        {
            Seen.TryAdd(context.Message.DeviceId, DateTimeOffset.UtcNow);
            return Task.CompletedTask;
        }
    }
}
