using Decommission.Testing;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Orchestrator.Tests;

/// <summary>Every path of the retirement workflow, each on a fresh harness and a fresh SQLite file.</summary>
public sealed class RetirementStateMachineTests
{
    private static async Task<Scenario> Start(Dictionary<string, string?>? settings = null) =>
        new(await OrchestratorHost.StartAsync(settings: settings));

    [Fact]
    public async Task A_verified_erase_runs_every_step_and_completes_with_a_purge_certificate()
    {
        var s = await Start();
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-1");

        var requested = await s.WaitForPublished<RetirementRequested>(m => m.RetirementId == id);
        Assert.Equal("dev-1", requested.Single().DeviceId);
        Assert.Single(await s.WaitForSent<QuarantineDevice>(m => m.RetirementId == id));
        var erase = (await s.WaitForSent<EraseDevice>(m => m.RetirementId == id)).Single();
        Assert.Equal((commandId, 1), (erase.CommandId, erase.Attempt));

        await s.Verified(id, "dev-1", commandId);
        await s.Host.WaitForState(id, "RevokingIdentity");
        await s.WaitForSent<RevokeIdentity>(m => m.RetirementId == id);
        await s.IdentityRevoked(id, "dev-1");
        await s.Host.WaitForState(id, "Certifying");

        var order = (await s.WaitForSent<IssueDisposalCertificate>(m => m.RetirementId == id)).Single();
        Assert.Equal("Purge", order.SanitizationType);
        Assert.Equal("SN-0001", order.Device.SerialNumber);
        Assert.Equal(["media-key-1"], order.Evidence!.DestroyedKeyIds);
        Assert.Equal("tok-1", order.RevokedCredentials.Single().CredentialId);
        Assert.Equal("0A1B", order.IdentityCertificateSerial);
        Assert.Equal(["Requested", "Quarantining", "Erasing", "RevokingIdentity", "Certifying"], order.AuditTrail.Select(e => e.ToState));

        await s.CertificateIssued(id, "dev-1");
        var done = await s.Host.WaitForState(id, "Completed");
        Assert.Null(done.Deadline);
        var decommissioned = (await s.WaitForPublished<DeviceDecommissioned>(m => m.RetirementId == id)).Single();
        Assert.Equal(("Purge", $"cert-{id:N}"), (decommissioned.SanitizationType, decommissioned.CertificateId));

        var trail = await RetirementQueries.AuditTrailOf(s.Host.Services.GetRequiredService<OrchestratorDatabase>(), id);
        Assert.Equal(
            [("Initial", "Requested", "alice"), ("Requested", "Quarantining", "inventory"), ("Quarantining", "Erasing", "credentials"),
             ("Erasing", "RevokingIdentity", "device-gateway"), ("RevokingIdentity", "Certifying", "credentials"), ("Certifying", "Completed", "certificates")],
            trail.Select(e => (e.FromState, e.ToState, e.Actor)));
    }

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
        Assert.Single(s.Host.Harness.Published.Select<RetirementRequested>());
        Assert.Null(await s.Host.Store.LoadAsync(response.RequestId!.Value));
        // The first was sent without a response address: nobody asked, so nothing was published for it.
        Assert.False(s.Host.Harness.Published.Select<RetirementSubmitted>().Any());
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
        Assert.Single(s.Host.Harness.Published.Select<RetirementRequested>());
    }

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

    [Fact]
    public async Task An_unanswered_erase_is_resent_with_the_same_command_then_fails_as_unreachable()
    {
        var s = await Start(new() { ["Retirement:EraseAttempts"] = "3", ["Retirement:EraseAttemptTimeout"] = "00:00:00.300" });
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-off");

        var failed = await s.Host.WaitForState(id, "Failed");

        Assert.Equal(FailureReasons.DeviceUnreachable, failed.FailureReason);
        var attempts = s.SentSoFar<EraseDevice>(m => m.RetirementId == id);
        Assert.Equal([1, 2, 3], attempts.Select(a => a.Attempt));
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
        var s = await Start(new() { ["Retirement:EraseAttempts"] = "2", ["Retirement:EraseAttemptTimeout"] = "00:00:00.400" });
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-junk");

        await s.Rejected(id, "dev-junk", commandId, "BadSignature", conclusive: false);
        await Task.Delay(150);
        Assert.Equal("Erasing", (await s.Host.Store.LoadAsync(id))!.CurrentState);

        var failed = await s.Host.WaitForState(id, "Failed");
        Assert.Equal(("BadSignature", "Erasing"), (failed.FailureReason, failed.FailedIn));
        Assert.Equal(2, failed.EraseAttempts);
    }

    [Fact]
    public async Task A_certificate_the_certificates_service_refuses_fails_the_retirement_with_its_reason()
    {
        var s = await Start();
        await using var _ = s.Host;
        var (id, commandId) = await s.RetireToErasing("dev-refused-cert");
        await s.Verified(id, "dev-refused-cert", commandId);
        await s.Host.WaitForState(id, "RevokingIdentity");
        await s.IdentityRevoked(id, "dev-refused-cert");
        await s.Host.WaitForState(id, "Certifying");

        await s.Publish(new DisposalCertificateRefused
        {
            RetirementId = id, DeviceId = "dev-refused-cert", Reason = "BadReceiptSignature", Detail = "the receipt does not verify", RefusedAt = DateTimeOffset.UtcNow,
        });

        var failed = await s.Host.WaitForState(id, "Failed");
        Assert.Equal((FailureReasons.CertificateRefused, "Certifying"), (failed.FailureReason, failed.FailedIn));
        Assert.Contains("BadReceiptSignature", failed.FailureDetail);
    }

    [Fact]
    public async Task A_failed_retirement_can_be_retried_with_a_fresh_erase_command()
    {
        var s = await Start(new() { ["Retirement:EraseAttempts"] = "1", ["Retirement:EraseAttemptTimeout"] = "00:00:00.200" });
        await using var _ = s.Host;
        var (id, firstCommand) = await s.RetireToErasing("dev-retry");
        await s.Host.WaitForState(id, "Failed");

        var answer = await s.Host.Harness.GetRequestClient<RetryRetirement>()
            .GetResponse<RetirementRetried, RetirementCommandRefused>(new RetryRetirement { RetirementId = id, RequestedBy = "dave" });

        Assert.True(answer.Is(out Response<RetirementRetried>? retried));
        Assert.Equal("Erasing", retried!.Message.ResumedIn);
        var resent = (await s.WaitForSent<EraseDevice>(m => m.RetirementId == id && m.CommandId != firstCommand)).Single();
        Assert.Equal(1, resent.Attempt);
        Assert.NotEqual(s.SentSoFar<EraseDevice>(m => m.CommandId == firstCommand)[0].Nonce, resent.Nonce);
        await s.Verified(id, "dev-retry", resent.CommandId);
        await s.Host.WaitForState(id, "RevokingIdentity");
    }

    [Fact]
    public async Task Retry_and_destruction_records_are_refused_unless_the_retirement_failed()
    {
        var s = await Start();
        await using var _ = s.Host;
        var (id, _) = await s.RetireToErasing("dev-busy");

        var retry = await s.Host.Harness.GetRequestClient<RetryRetirement>()
            .GetResponse<RetirementRetried, RetirementCommandRefused>(new RetryRetirement { RetirementId = id, RequestedBy = "dave" });
        var destroy = await s.Host.Harness.GetRequestClient<RecordPhysicalDestruction>()
            .GetResponse<PhysicalDestructionRecorded, RetirementCommandRefused>(new RecordPhysicalDestruction { RetirementId = id });

        Assert.True(retry.Is(out Response<RetirementCommandRefused>? r1));
        Assert.True(destroy.Is(out Response<RetirementCommandRefused>? r2));
        Assert.Equal(("Erasing", "Erasing"), (r1!.Message.State, r2!.Message.State));
    }

    [Fact]
    public async Task A_witnessed_physical_destruction_of_a_failed_device_is_certified_as_destroy()
    {
        var s = await Start(new() { ["Retirement:EraseAttempts"] = "1", ["Retirement:EraseAttemptTimeout"] = "00:00:00.200" });
        await using var _ = s.Host;
        var (id, _) = await s.RetireToErasing("dev-dead");
        await s.Host.WaitForState(id, "Failed");

        var destruction = new PhysicalDestruction
        {
            Method = "Shred", PerformedBy = "erin", Witness = "frank", Location = "Lyon recycling", DestroyedAt = DateTimeOffset.UtcNow,
        };
        await s.Send(new RecordPhysicalDestruction { RetirementId = id, Destruction = destruction });

        await s.Host.WaitForState(id, "RevokingIdentity");
        await s.WaitForPublished<PhysicalDestructionRecorded>(m => m.RetirementId == id);
        await s.IdentityRevoked(id, "dev-dead");
        var order = (await s.WaitForSent<IssueDisposalCertificate>(m => m.RetirementId == id)).Single();
        Assert.Equal("Destroy", order.SanitizationType);
        Assert.Equal(("erin", "frank"), (order.Destruction!.PerformedBy, order.Destruction.Witness));
        Assert.Null(order.Evidence);
        Assert.Contains(order.AuditTrail, e => e.ToState == "RevokingIdentity" && e.Actor == "erin (witness: frank)");

        await s.CertificateIssued(id, "dev-dead");
        await s.Host.WaitForState(id, "Completed");
        Assert.Equal("Destroy", (await s.WaitForPublished<DeviceDecommissioned>(m => m.RetirementId == id)).Single().SanitizationType);
    }

    [Fact]
    public async Task A_step_whose_service_does_not_answer_gets_its_command_again()
    {
        var s = await Start(new() { ["Retirement:RedriveInterval"] = "00:00:00.200" });
        await using var _ = s.Host;
        var id = await s.Retire("dev-quiet");
        await s.Host.WaitForState(id, "Requested");
        await s.Accept(id, "dev-quiet");

        var sent = await s.WaitForSent<QuarantineDevice>(m => m.RetirementId == id, count: 3);

        Assert.All(sent, m => Assert.Equal("dev-quiet", m.DeviceId));
        var trail = await RetirementQueries.AuditTrailOf(s.Host.Services.GetRequiredService<OrchestratorDatabase>(), id);
        Assert.Contains(trail, e => e.FromState == "Quarantining" && e.ToState == "Quarantining" && e.Detail.Contains("re-sent"));
    }

    [Fact]
    public async Task Status_is_answered_by_retirement_id_or_device_id_with_history()
    {
        var s = await Start();
        await using var _ = s.Host;
        var (id, _) = await s.RetireToErasing("dev-status");
        var client = s.Host.Harness.GetRequestClient<GetRetirementStatus>();

        var byId = await client.GetResponse<RetirementStatus, RetirementNotFound>(new GetRetirementStatus { RetirementId = id });
        var byDevice = await client.GetResponse<RetirementStatus, RetirementNotFound>(new GetRetirementStatus { DeviceId = "dev-status" });
        var unknown = await client.GetResponse<RetirementStatus, RetirementNotFound>(new GetRetirementStatus { DeviceId = "nope" });

        Assert.True(byId.Is(out Response<RetirementStatus>? a));
        Assert.True(byDevice.Is(out Response<RetirementStatus>? b));
        Assert.True(unknown.Is(out Response<RetirementNotFound>? _));
        Assert.Equal((id, "Erasing", 1), (a!.Message.RetirementId, a.Message.State, a.Message.EraseAttempts));
        Assert.NotNull(a.Message.Deadline);
        Assert.Equal(id, b!.Message.RetirementId);
        Assert.Equal(["Requested", "Quarantining", "Erasing"], a.Message.History.Select(h => h.ToState));
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
        Assert.Empty(s.Host.Harness.Published.Select<RetirementRequested>());
    }
}
