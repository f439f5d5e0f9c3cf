using Decommission.Testing;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Orchestrator.Tests;

/// <summary>Requests: admission, refusal, duplicates and races, invalid requests.</summary>
public sealed partial class RetirementStateMachineTests
{
    [Theory]
    [InlineData(RefusalReasons.UnknownDevice)]
    [InlineData(RefusalReasons.AlreadyDisposed)]
    [InlineData(RefusalReasons.LegalHold)]
    public async Task A_refused_retirement_ends_with_the_inventory_reason_and_frees_the_device(string reason)
    {
        var s = await Start();
        await using var _ = s.Host;
        var id = await s.Retire("dev-r");
        await s.Host.WaitForState(id, "Requested");

        await s.Publish(new RetirementRefused { RetirementId = id, DeviceId = "dev-r", Reason = reason, Detail = "from inventory" });

        var refused = await s.Host.WaitForState(id, "Refused");
        Assert.Equal(reason, refused.FailureReason);
        var failed = (await s.WaitForPublished<RetirementFailed>(m => m.RetirementId == id)).Single();
        Assert.Equal((reason, "Requested"), (failed.Reason, failed.FailedIn));
        Assert.Empty(s.SentSoFar<QuarantineDevice>());

        var again = await s.Retire("dev-r");
        await s.Host.WaitForState(again, "Requested");
    }

    [Fact]
    public async Task A_second_request_for_a_device_being_retired_answers_with_the_existing_retirement()
    {
        var s = await Start();
        await using var _ = s.Host;
        var first = await s.Retire("dev-dup");
        await s.Host.WaitForState(first, "Requested");

        var client = s.Host.Harness.GetRequestClient<RetireDevice>();
        var response = await client.GetResponse<RetirementSubmitted>(new RetireDevice
        {
            DeviceId = "dev-dup", Reason = "again", RequestedBy = "bob", RequestedAt = DateTimeOffset.UtcNow,
        });

        Assert.True(response.Message.AlreadyActive);
        Assert.Equal(first, response.Message.RetirementId);
        Assert.Equal("Requested", response.Message.State);
        Assert.Single(BusTraffic.Of<RetirementRequested>(s.Host.Harness));
        Assert.Null(await s.Host.Store.LoadAsync(response.RequestId!.Value));
        // The first was sent without a response address: nobody asked, so the only answer that left is the second's.
        Assert.Equal(response.Message.RetirementId, Assert.Single(BusTraffic.Of<RetirementSubmitted>(s.Host.Harness)).RetirementId);
    }

    [Fact]
    public async Task Racing_requests_for_one_device_start_exactly_one_retirement_and_all_are_answered_with_it()
    {
        var s = await Start();
        await using var _ = s.Host;

        // A retirement's id is the message id of the request that started it.
        var client = s.Host.Harness.GetRequestClient<RetireDevice>();
        var ids = Enumerable.Range(0, 8).Select(_ => NewId.NextGuid()).ToList();
        var answers = (await Task.WhenAll(ids.Select(id => client.GetResponse<RetirementSubmitted>(new RetireDevice
        {
            DeviceId = "dev-race", Reason = "end of life", RequestedBy = "alice", RequestedAt = DateTimeOffset.UtcNow,
        }, x => x.UseExecute(context => context.MessageId = id))))).Select(r => r.Message).ToList();

        Assert.Equal(ids.Count, answers.Count);
        var winner = Assert.Single(answers.Select(a => a.RetirementId).Distinct());
        Assert.Contains(winner, ids);
        Assert.Equal(ids.Count - 1, answers.Count(a => a.AlreadyActive));
        foreach (var loser in ids.Where(id => id != winner))
            Assert.Null(await s.Host.Store.LoadAsync(loser));
        Assert.Single(BusTraffic.Of<RetirementRequested>(s.Host.Harness));
    }

    [Fact]
    public async Task A_request_without_a_device_is_rejected_with_a_reason_and_starts_nothing()
    {
        var s = await Start();
        await using var _ = s.Host;

        var id = await s.Retire("   ");

        var fault = await s.WaitForPublished<ReceiveFault>(_ => true);
        Assert.Contains("RetireDevice rejected: DeviceId is required", fault.Single().Exceptions.Single().Message);
        Assert.Null(await s.Host.Store.LoadAsync(id));
        Assert.Empty(BusTraffic.Of<RetirementRequested>(s.Host.Harness));
    }
}
