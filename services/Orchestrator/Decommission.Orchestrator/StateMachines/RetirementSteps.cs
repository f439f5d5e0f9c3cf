using Decommission.ServiceDefaults;
using Decommission.Contracts;
using Decommission.Orchestrator.Deadlines;
using Decommission.Orchestrator.Persistence;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>
/// Sends the order of a retirement's step to the service that performs it, and sets the deadline for its answer.
/// The machine names the step (<see cref="RetirementStateMachineExtensions"/>); a deadline re-sends the same order, so an
/// order lost between saving the saga and publishing is driven again.
/// </summary>
public sealed class RetirementSteps(OrchestratorDatabase database, IBus bus, IOptions<RetirementSettings> options, TimeProvider clock)
{
    private readonly RetirementSettings _settings = options.Value;

    /// <summary>Asks the inventory whether the device may be retired.</summary>
    public Task RequestAdmission(BehaviorContext<Retirement> context)
    {
        var saga = context.Saga;
        AwaitAnswer(context);
        return context.Publish(new RetirementRequested
        {
            RetirementId = saga.CorrelationId,
            DeviceId = saga.DeviceId,
            Reason = saga.Reason,
            RequestedBy = saga.RequestedBy,
            RequestedAt = saga.RequestedAt,
        });
    }

    /// <summary>Orders the credentials service to revoke the device's operational credentials and isolate it.</summary>
    public Task OrderQuarantine(BehaviorContext<Retirement> context)
    {
        AwaitAnswer(context);
        return Send(context, new QuarantineDevice { RetirementId = context.Saga.CorrelationId, DeviceId = context.Saga.DeviceId });
    }

    /// <summary>Sends the erase command to the device gateway as its next attempt; the answer is due when the attempt expires, never after
    /// the command does. The gateway keeps the copy for the device until the command expires, so a late device still finds it.</summary>
    public Task OrderErase(BehaviorContext<Retirement> context)
    {
        var saga = context.Saga;
        var now = AwaitAnswer(context);
        saga.EraseAttempts++;
        saga.EraseSentAt ??= now;
        var expiresAt = saga.EraseExpiresAt ?? now;
        var attemptExpiresAt = Min(now + _settings.AttemptTimeout(saga.EraseAttempts), expiresAt);
        saga.Deadline = attemptExpiresAt;
        return Send(context, new EraseDevice
        {
            RetirementId = saga.CorrelationId,
            DeviceId = saga.DeviceId,
            CommandId = saga.EraseCommandId ?? throw new InvalidOperationException("Erasing without a command id"),
            Nonce = saga.EraseNonce ?? throw new InvalidOperationException("Erasing without a nonce"),
            Attempt = saga.EraseAttempts,
            AttemptExpiresAt = attemptExpiresAt,
            ExpiresAt = expiresAt,
        });
    }

    /// <summary>Orders the credentials service to put the device's identity certificate on the CRL.</summary>
    public Task OrderIdentityRevocation(BehaviorContext<Retirement> context)
    {
        AwaitAnswer(context);
        return Send(context, new RevokeIdentity { RetirementId = context.Saga.CorrelationId, DeviceId = context.Saga.DeviceId });
    }

    /// <summary>Orders the disposal certificate, with the evidence and the audit trail so far (committed and pending).</summary>
    public async Task OrderCertificate(BehaviorContext<Retirement> context)
    {
        var saga = context.Saga;
        AwaitAnswer(context);
        var committed = await RetirementQueries.AuditTrailOf(database, saga.CorrelationId);
        await Send(context, new IssueDisposalCertificate
        {
            RetirementId = saga.CorrelationId,
            DeviceId = saga.DeviceId,
            Device = saga.Device ?? new DeviceSnapshot(),
            SanitizationType = saga.SanitizationType ?? SanitizationTypes.Purge,
            Evidence = saga.Evidence,
            Destruction = saga.Destruction,
            RevokedCredentials = saga.RevokedCredentials,
            IdentityCertificateSerial = saga.IdentityCertificateSerial ?? "",
            Reason = saga.Reason,
            RequestedBy = saga.RequestedBy,
            RequestedAt = saga.RequestedAt,
            AuditTrail = [.. committed, .. saga.PendingAudit],
        });
    }

    /// <summary>Sets when the step stops waiting for its service (the erase sets its attempt's own); returns now.</summary>
    private DateTimeOffset AwaitAnswer(BehaviorContext<Retirement> context)
    {
        var saga = context.Saga;
        var now = clock.GetUtcNow();
        // Only a deadline re-sends; any other event starts the step's re-send count anew.
        if (!context.TryGetMessage<RetirementDeadlineReached>(out _))
            saga.Redrives = 0;
        saga.Deadline = now + _settings.RedriveDelay(saga.Redrives);
        return now;
    }

    // Through the command type's own exchange, which the broker's set-up binds to the service's queue (named by the
    // catalogue): the orchestrator's broker user may write its commands' exchanges and holds no right on other services' queues.
    private async Task Send<TCommand>(ConsumeContext context, TCommand command)
        where TCommand : class
    {
        var endpoint = await context.GetSendEndpoint(TypeExchange.Of<TCommand>(bus));
        await endpoint.Send(command, context.CancellationToken);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
