using Decommission.Testing;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Orchestrator.Tests;

/// <summary>A device offline for longer than every attempt: the command is valid until it expires, and so is the retirement.</summary>
public sealed partial class RetirementStateMachineTests
{
    // Two attempts of 0.3 s: all attempts are over after 0.6 s, the command expires after 6 s.
    private static readonly Dictionary<string, string?> ShortAttemptsLongExpiry = new()
    {
        ["Retirement:EraseAttempts"] = "2",
        ["Retirement:EraseAttemptTimeout"] = "00:00:00.300",
        ["Retirement:EraseBackoffMultiplier"] = "1",
        ["Retirement:EraseDeadline"] = "00:00:06",
    };

    [Fact]
    public async Task A_device_offline_for_longer_than_all_attempts_back_before_the_commands_expiry_completes_its_retirement()
    {
        var s = await Start(ShortAttemptsLongExpiry);
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-away");

        // Twice as long as both attempts: the old rule failed it here. (Read from the store: the harness's sent list waits for a quiet bus.)
        var waiting = await s.Host.WaitForRetirement(id, r => r.EraseAttempts >= 4, "a fourth send of the erase command");
        Assert.Equal(("Erasing", null), (waiting.CurrentState, waiting.FailureReason));
        var trail = await RetirementQueries.AuditTrailOf(s.Host.Services.GetRequiredService<OrchestratorDatabase>(), id);
        Assert.Contains(trail, e => e.ToState == "Erasing" && e.Detail.Contains($"waiting until {waiting.EraseExpiresAt:O}", StringComparison.Ordinal));

        // The device comes back and answers the command that waited for it.
        await s.Verified(id, "dev-away", commandId);
        await s.Host.WaitForState(id, "RevokingIdentity");
        await s.IdentityRevoked(id, "dev-away");
        await s.Host.WaitForState(id, "Certifying");
        await s.CertificateIssued(id, "dev-away");
        var completed = await s.Host.WaitForState(id, "Completed");
        Assert.True(completed.EraseAttempts > 2, $"answered after {completed.EraseAttempts} sends, more than the 2 attempts");
        // Every send was the one command: same id, nonce and expiry, each attempt's answer due before the command expires.
        var sent = s.SentSoFar<EraseDevice>(m => m.RetirementId == id);
        Assert.All(sent, m => Assert.Equal((commandId, waiting.EraseNonce!, waiting.EraseExpiresAt!.Value), (m.CommandId, m.Nonce, m.ExpiresAt)));
        Assert.All(sent, m => Assert.True(m.AttemptExpiresAt <= m.ExpiresAt));
    }

    [Fact]
    public async Task A_device_that_never_comes_back_fails_as_unreachable_at_the_commands_expiry_not_before()
    {
        var s = await Start(new(ShortAttemptsLongExpiry) { ["Retirement:EraseDeadline"] = "00:00:02.500" });
        await using var _ = s.Host;
        var (id, _) = await s.RetireToErasing("dev-gone");
        var expiresAt = (await s.Host.Store.LoadAsync(id))!.EraseExpiresAt!.Value;

        var failed = await s.Host.WaitForState(id, "Failed", seconds: 20);

        Assert.Equal((FailureReasons.DeviceUnreachable, "Erasing"), (failed.FailureReason, failed.FailedIn));
        Assert.Contains($"expiry {expiresAt:O}", failed.FailureDetail, StringComparison.Ordinal);
        var trail = await RetirementQueries.AuditTrailOf(s.Host.Services.GetRequiredService<OrchestratorDatabase>(), id);
        Assert.True(trail.Single(e => e.ToState == "Failed").At >= expiresAt, "failed before the command expired");
        // Re-sends are bounded: one per 0.3 s until expiry, and the trail notes the attempts and the wait, not every re-send.
        Assert.InRange(failed.EraseAttempts, 3, 1 + (int)Math.Ceiling(2.5 / 0.3));
        Assert.Equal(2, trail.Count(e => e.FromState == "Erasing" && e.ToState == "Erasing"));
    }
}
