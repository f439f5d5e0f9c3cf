using Decommission.Testing;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Orchestrator.Tests;

/// <summary>The erase: attempts, deadlines, and which answers the saga believes.</summary>
public sealed partial class RetirementStateMachineTests
{
    [Fact]
    public async Task An_unanswered_erase_is_resent_with_the_same_command_until_it_expires_then_fails_as_unreachable()
    {
        var s = await Start(new()
        {
            ["Retirement:EraseAttempts"] = "3", ["Retirement:EraseAttemptTimeout"] = "00:00:00.500", ["Retirement:EraseDeadline"] = "00:00:04",
        });
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-off");

        var failed = await s.Host.WaitForState(id, "Failed");

        Assert.Equal(FailureReasons.DeviceUnreachable, failed.FailureReason);
        var attempts = s.SentSoFar<EraseDevice>(m => m.RetirementId == id);
        // Three attempts do not end it: the command is re-sent until it expires (4 s at 0.5 s a send: 8, fewer on a loaded machine).
        Assert.Equal(Enumerable.Range(1, attempts.Count), attempts.Select(a => a.Attempt));
        Assert.InRange(attempts.Count, 4, 9);
        Assert.All(attempts, a => Assert.Equal(commandId, a.CommandId));
        var published = (await s.WaitForPublished<RetirementFailed>(m => m.RetirementId == id)).Single();
        Assert.Equal(("DeviceUnreachable", "Erasing"), (published.Reason, published.FailedIn));
    }

    [Fact]
    public async Task The_overall_erase_deadline_ends_attempts_early()
    {
        var s = await Start(new()
        {
            ["Retirement:EraseAttempts"] = "50",
            ["Retirement:EraseAttemptTimeout"] = "00:00:00.300",
            ["Retirement:EraseDeadline"] = "00:00:00.800",
        });
        await using var _ = s.Host;
        var (id, _) = await s.RetireToErasing("dev-deadline");

        var failed = await s.Host.WaitForState(id, "Failed");

        Assert.Equal(FailureReasons.DeviceUnreachable, failed.FailureReason);
        Assert.InRange(failed.EraseAttempts, 2, 4);
        var last = s.SentSoFar<EraseDevice>(m => m.RetirementId == id).Last();
        Assert.True(last.AttemptExpiresAt <= last.ExpiresAt, "no attempt may outlive the command");
    }

    [Fact]
    public async Task An_erase_that_answers_on_a_later_attempt_is_verified()
    {
        var s = await Start(new() { ["Retirement:EraseAttempts"] = "5", ["Retirement:EraseAttemptTimeout"] = "00:00:00.300" });
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-late");
        await s.WaitForSent<EraseDevice>(m => m.RetirementId == id, count: 2);

        await s.Verified(id, "dev-late", commandId);

        var revoking = await s.Host.WaitForState(id, "RevokingIdentity");
        Assert.True(revoking.EraseAttempts >= 2);
    }

    [Fact]
    public async Task A_rejected_receipt_fails_with_its_reason_and_a_valid_receipt_afterwards_still_verifies()
    {
        var s = await Start();
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-forged");

        await s.Rejected(id, "dev-forged", commandId, "BadSignature");
        var failed = await s.Host.WaitForState(id, "Failed");
        Assert.Equal(("BadSignature", "Erasing"), (failed.FailureReason, failed.FailedIn));
        Assert.Empty(s.SentSoFar<RevokeIdentity>());

        await s.Verified(id, "dev-forged", commandId);
        var revoking = await s.Host.WaitForState(id, "RevokingIdentity");
        Assert.Null(revoking.FailureReason);
        await s.WaitForSent<RevokeIdentity>(m => m.RetirementId == id);
    }

    [Fact]
    public async Task An_answer_without_the_commands_nonce_or_id_is_not_believed()
    {
        var s = await Start();
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-forged-answer");

        // What a forger on the bus can say: the right retirement, but not the nonce the saga gave its command, or another command.
        await s.Verified(id, "dev-forged-answer", commandId, nonce: "forged-nonce-forged-nonce-forged");
        await s.Verified(id, "dev-forged-answer", Guid.NewGuid(), nonce: await s.CurrentNonce(id));
        await s.Rejected(id, "dev-forged-answer", commandId, "DeviceReportedFailure", conclusive: true, nonce: "forged-nonce-forged-nonce-forged");
        await Task.Delay(500);
        var still = await s.Host.WaitForState(id, "Erasing");
        Assert.Null(still.Evidence);
        Assert.Null(still.FailureReason);
        Assert.Empty(s.SentSoFar<RevokeIdentity>());

        await s.Verified(id, "dev-forged-answer", commandId);
        await s.Host.WaitForState(id, "RevokingIdentity");
    }

    [Fact]
    public async Task A_receipt_nobody_can_attribute_to_the_device_does_not_fail_it_but_names_the_failure_if_the_device_never_answers()
    {
        var s = await Start(new()
        {
            ["Retirement:EraseAttempts"] = "2", ["Retirement:EraseAttemptTimeout"] = "00:00:00.400", ["Retirement:EraseDeadline"] = "00:00:01.200",
        });
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-junk");

        await s.Rejected(id, "dev-junk", commandId, "BadSignature", conclusive: false);
        await Task.Delay(150);
        Assert.Equal("Erasing", (await s.Host.Store.LoadAsync(id))!.CurrentState);

        var failed = await s.Host.WaitForState(id, "Failed");
        Assert.Equal(("BadSignature", "Erasing"), (failed.FailureReason, failed.FailedIn));
        Assert.InRange(failed.EraseAttempts, 2, 3);
    }
}
