using Decommission.Testing;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using Decommission.Storage;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Orchestrator.Tests;

/// <summary>Every path of the retirement workflow, each on a fresh harness and a fresh SQLite file.</summary>
public sealed partial class RetirementStateMachineTests
{
    /// <summary>A fresh orchestrator: on its own SQLite file, or (<c>Storage:Postgres</c>) in a fresh PostgreSQL database.</summary>
    private static async Task<Scenario> Start(Dictionary<string, string?>? settings = null, SqlDialect engine = SqlDialect.Sqlite)
    {
        if (engine == SqlDialect.Postgres)
            settings = new Dictionary<string, string?>(settings ?? []) { ["Storage:Postgres"] = await PostgresServer.NewDatabaseAsync() };
        return new(await OrchestratorHost.StartAsync(settings: settings));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_verified_erase_runs_every_step_and_completes_with_a_purge_certificate(SqlDialect engine)
    {
        var s = await Start(engine: engine);
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
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Status_is_answered_by_retirement_id_or_device_id_with_history(SqlDialect engine)
    {
        var s = await Start(engine: engine);
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
}
