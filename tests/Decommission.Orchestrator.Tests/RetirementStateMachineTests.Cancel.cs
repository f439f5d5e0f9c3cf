using Decommission.Testing;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Orchestrator.Tests;

/// <summary>Cancellation: allowed until the erase command is sent.</summary>
public sealed partial class RetirementStateMachineTests
{
    [Fact]
    public async Task Cancel_is_accepted_before_the_erase_is_sent()
    {
        var s = await Start();
        await using var _ = s.Host;
        var inRequested = await s.Retire("dev-c1");
        await s.Host.WaitForState(inRequested, "Requested");
        var inQuarantine = await s.Retire("dev-c2");
        await s.Host.WaitForState(inQuarantine, "Requested");
        await s.Accept(inQuarantine, "dev-c2");
        await s.Host.WaitForState(inQuarantine, "Quarantining");

        var client = s.Host.Harness.GetRequestClient<CancelRetirement>();
        foreach (var id in new[] { inRequested, inQuarantine })
        {
            var answer = await client.GetResponse<RetirementCancelled, RetirementCommandRefused>(
                new CancelRetirement { RetirementId = id, RequestedBy = "carol", Reason = "wrong device" });
            Assert.True(answer.Is(out Response<RetirementCancelled>? cancelled));
            Assert.Equal("carol", cancelled!.Message.RequestedBy);
            var stored = await s.Host.WaitForState(id, "Cancelled");
            Assert.Null(stored.Deadline);
        }
        // A late answer from the inventory changes nothing.
        await s.Accept(inRequested, "dev-c1");
        await Task.Delay(300);
        Assert.Equal("Cancelled", (await s.Host.Store.LoadAsync(inRequested))!.CurrentState);
    }

    [Fact]
    public async Task Cancel_is_refused_once_the_erase_was_sent()
    {
        var s = await Start();
        await using var _ = s.Host;
        var (id, _) = await s.RetireToErasing("dev-c3");

        var answer = await s.Host.Harness.GetRequestClient<CancelRetirement>()
            .GetResponse<RetirementCancelled, RetirementCommandRefused>(new CancelRetirement { RetirementId = id, RequestedBy = "carol", Reason = "late" });

        Assert.True(answer.Is(out Response<RetirementCommandRefused>? refused));
        Assert.Contains("erase command was already sent", refused!.Message.Reason);
        Assert.Equal("Erasing", (await s.Host.Store.LoadAsync(id))!.CurrentState);
    }
}
