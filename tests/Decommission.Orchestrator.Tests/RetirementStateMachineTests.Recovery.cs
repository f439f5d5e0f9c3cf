using Decommission.Testing;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Orchestrator.Tests;

/// <summary>After a failure or a silence: refused certificates, retries, physical destruction, re-driven steps.</summary>
public sealed partial class RetirementStateMachineTests
{
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
        var s = await Start(new()
        {
            ["Retirement:EraseAttempts"] = "1", ["Retirement:EraseAttemptTimeout"] = "00:00:00.200", ["Retirement:EraseDeadline"] = "00:00:00.200",
        });
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
        var s = await Start(new()
        {
            ["Retirement:EraseAttempts"] = "1", ["Retirement:EraseAttemptTimeout"] = "00:00:00.200", ["Retirement:EraseDeadline"] = "00:00:00.200",
        });
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
}
