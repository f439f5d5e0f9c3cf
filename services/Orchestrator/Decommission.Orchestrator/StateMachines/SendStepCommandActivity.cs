using Decommission.Contracts;
using Decommission.Orchestrator.Deadlines;
using Decommission.Orchestrator.Persistence;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>
/// Sends the command of the step the retirement is in and sets the deadline for its answer. The same activity
/// re-sends it when the deadline passes, so a command lost between saving the saga and publishing is driven again.
/// </summary>
public sealed class SendStepCommandActivity(OrchestratorDatabase database, IBus bus, IOptions<RetirementSettings> options, TimeProvider clock)
    : IStateMachineActivity<Retirement>
{
    private readonly RetirementSettings _settings = options.Value;

    public async Task Execute(BehaviorContext<Retirement> context, IBehavior<Retirement> next)
    {
        await SendStepCommand(context);
        await next.Execute(context);
    }

    public async Task Execute<T>(BehaviorContext<Retirement, T> context, IBehavior<Retirement, T> next)
        where T : class
    {
        await SendStepCommand(context);
        await next.Execute(context);
    }

    private async Task SendStepCommand(BehaviorContext<Retirement> context)
    {
        var saga = context.Saga;
        var now = clock.GetUtcNow();
        // Only a deadline re-sends; any other event starts the step's re-send count anew.
        if (!context.TryGetMessage<RetirementDeadlineReached>(out _))
            saga.Redrives = 0;
        saga.Deadline = now + _settings.RedriveDelay(saga.Redrives);

        switch (saga.CurrentState)
        {
            case nameof(RetirementStateMachine.Requested):
                await context.Publish(new RetirementRequested
                {
                    RetirementId = saga.CorrelationId,
                    DeviceId = saga.DeviceId,
                    Reason = saga.Reason,
                    RequestedBy = saga.RequestedBy,
                    RequestedAt = saga.RequestedAt,
                });
                break;

            case nameof(RetirementStateMachine.Quarantining):
                await Send(context, QueueNames.QuarantineDevice, new QuarantineDevice { RetirementId = saga.CorrelationId, DeviceId = saga.DeviceId });
                break;

            case nameof(RetirementStateMachine.Erasing):
                saga.EraseAttempts++;
                saga.EraseSentAt ??= now;
                var expiresAt = saga.EraseExpiresAt ?? now;
                var attemptExpiresAt = Min(now + _settings.AttemptTimeout(saga.EraseAttempts), expiresAt);
                saga.Deadline = attemptExpiresAt;
                await Send(context, QueueNames.EraseDevice, new EraseDevice
                {
                    RetirementId = saga.CorrelationId,
                    DeviceId = saga.DeviceId,
                    CommandId = saga.EraseCommandId ?? throw new InvalidOperationException("Erasing without a command id"),
                    Nonce = saga.EraseNonce ?? throw new InvalidOperationException("Erasing without a nonce"),
                    Attempt = saga.EraseAttempts,
                    AttemptExpiresAt = attemptExpiresAt,
                    ExpiresAt = expiresAt,
                });
                break;

            case nameof(RetirementStateMachine.RevokingIdentity):
                await Send(context, QueueNames.RevokeIdentity, new RevokeIdentity { RetirementId = saga.CorrelationId, DeviceId = saga.DeviceId });
                break;

            case nameof(RetirementStateMachine.Certifying):
                await Send(context, QueueNames.IssueDisposalCertificate, await CertificateOrder(saga));
                break;

            default:
                throw new InvalidOperationException($"A retirement in {saga.CurrentState} has no step command");
        }
    }

    private async Task<IssueDisposalCertificate> CertificateOrder(Retirement saga)
    {
        var committed = await RetirementQueries.AuditTrailOf(database, saga.CorrelationId);
        return new IssueDisposalCertificate
        {
            RetirementId = saga.CorrelationId,
            DeviceId = saga.DeviceId,
            Device = saga.Device ?? new DeviceSnapshot(),
            SanitizationType = saga.SanitizationType ?? RetirementStateMachine.Purge,
            Evidence = saga.Evidence,
            Destruction = saga.Destruction,
            RevokedCredentials = saga.RevokedCredentials,
            IdentityCertificateSerial = saga.IdentityCertificateSerial ?? "",
            Reason = saga.Reason,
            RequestedBy = saga.RequestedBy,
            RequestedAt = saga.RequestedAt,
            AuditTrail = [.. committed, .. saga.PendingAudit],
        };
    }

    // Through the command type's own exchange, which the broker's set-up binds to the service's queue (named by the
    // catalogue): the orchestrator's broker user may write its commands' exchanges and holds no right on other services' queues.
    private async Task Send<TCommand>(ConsumeContext context, string queue, TCommand command)
        where TCommand : class
    {
        if (!bus.Topology.TryGetPublishAddress<TCommand>(out var exchange))
            throw new InvalidOperationException($"The bus has no address for {typeof(TCommand).Name}'s exchange (consumed on {queue})");
        var endpoint = await context.GetSendEndpoint(exchange);
        await endpoint.Send(command, context.CancellationToken);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    public Task Faulted<TException>(BehaviorExceptionContext<Retirement, TException> context, IBehavior<Retirement> next)
        where TException : Exception => next.Faulted(context);

    public Task Faulted<T, TException>(BehaviorExceptionContext<Retirement, T, TException> context, IBehavior<Retirement, T> next)
        where T : class where TException : Exception => next.Faulted(context);

    public void Probe(ProbeContext context) => context.CreateScope("send-step-command");

    public void Accept(StateMachineVisitor visitor) => visitor.Visit(this);
}
