using Decommission.Contracts;
using Decommission.Orchestrator.Deadlines;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>
/// The retirement workflow: Requested → Quarantining → Erasing → RevokingIdentity → Certifying → Completed,
/// with Refused, Cancelled and Failed (which can be retried, or closed by a recorded physical destruction).
/// </summary>
public sealed partial class RetirementStateMachine : MassTransitStateMachine<Retirement>
{
    public const string Purge = SanitizationTypes.Purge;
    public const string Destroy = SanitizationTypes.Destroy;

    private readonly RetirementSettings _settings;
    private readonly TimeProvider _clock;

    public RetirementStateMachine(IOptions<RetirementSettings> settings, TimeProvider clock, ILogger<RetirementStateMachine> logger)
    {
        _settings = settings.Value;
        _clock = clock;

        // The messages the machine takes name their retirement (CorrelatedBy<Guid>: their RetirementId) and MassTransit
        // correlates them by it. Declared here is only what differs: the request, and what a message for no retirement gets.
        Event(() => RetireDevice, x =>
        {
            // The request's message id is the retirement id, so a redelivered request finds its own retirement.
            x.CorrelateById(context => RetirementIds.For(context));
            x.SelectId(context => RetirementIds.For(context));
        });
        Event(() => DeadlineReached, x => x.OnMissingInstance(m => m.Discard()));
        Event(() => Cancel, x => x.OnMissingInstance(m => m.ExecuteAsync(context => context.RespondAsync(NotFound(context.Message.RetirementId)))));
        Event(() => Retry, x => x.OnMissingInstance(m => m.ExecuteAsync(context => context.RespondAsync(NotFound(context.Message.RetirementId)))));
        // The certificates service sends it without asking for an answer: nobody to tell, nothing to publish.
        Event(() => RecordDestruction, x => x.OnMissingInstance(m => m.ExecuteAsync(context => context.ResponseAddress is null
            ? Task.CompletedTask
            : context.RespondAsync(NotFound(context.Message.RetirementId)))));

        InstanceState(x => x.CurrentState);
        ConnectStateObserver(new AuditTrailObserver(clock));

        // At-least-once delivery brings late duplicates (a second reply, an old deadline): they change nothing.
        OnUnhandledEvent(context =>
        {
            logger.LogInformation("Retirement {RetirementId} in {State} ignored {Event}", context.Saga.CorrelationId, context.Saga.CurrentState, context.Event.Name);
            return context.Ignore();
        });

        Initially(
            When(RetireDevice)
                .Activity(x => x.OfType<FindActiveRetirementActivity>())
                .IfElse(context => context.Saga.OtherOpenRetirement is not null,
                    duplicate => duplicate
                        .If(Asked, answer => answer.Respond(context => AlreadyRetiring(context)))
                        .Finalize(),
                    fresh => fresh
                        .Then(context =>
                        {
                            context.Saga.DeviceId = context.Message.DeviceId;
                            context.Saga.Reason = context.Message.Reason;
                            context.Saga.RequestedBy = context.Message.RequestedBy;
                            context.Saga.RequestedAt = context.Message.RequestedAt == default ? Now : context.Message.RequestedAt;
                        })
                        .TransitionTo(Requested)
                        .RequestAdmission()
                        .If(Asked, answer => answer.RespondAsync(context => Task.FromResult(Submitted(context.Saga, alreadyActive: false))))));

        During(Requested,
            When(RetirementAccepted)
                .Then(context => context.Saga.Device = context.Message.Device)
                .TransitionTo(Quarantining)
                .OrderQuarantine(),
            When(RetirementRefused)
                .Then(context => Fail(context.Saga, context.Message.Reason, context.Message.Detail))
                .TransitionTo(Refused)
                .Publish(context => Failure(context.Saga)));

        During(Quarantining,
            When(DeviceQuarantined)
                .Then(context =>
                {
                    context.Saga.RevokedCredentials = [.. context.Message.RevokedCredentials];
                    context.Saga.NetworkSegment = context.Message.NetworkSegment;
                    StartErase(context.Saga);
                })
                .TransitionTo(Erasing)
                .OrderErase(),
            When(QuarantineRefused)
                .Then(context => Fail(context.Saga, FailureReasons.QuarantineRefused, $"{context.Message.Reason}: {context.Message.Detail}"))
                .TransitionTo(Failed)
                .Publish(context => Failure(context.Saga)));

        // Cancel is allowed until the erase command has been sent (a failed quarantine never sent one).
        During(Requested, Quarantining,
            When(Cancel)
                .Then(context => context.Saga.Deadline = null)
                .TransitionTo(Cancelled)
                .Publish(context => Cancellation(context))
                .If(context => context.ResponseAddress is not null, request => request.Respond(context => Cancellation(context))));
        During(Failed,
            When(Cancel, context => context.Saga.EraseSentAt is null)
                .TransitionTo(Cancelled)
                .Publish(context => Cancellation(context))
                .If(context => context.ResponseAddress is not null, request => request.Respond(context => Cancellation(context))),
            When(Cancel, context => context.Saga.EraseSentAt is not null)
                .RespondAsync(context => Task.FromResult(Refusal(context, "the erase command was already sent"))));
        During([Erasing, RevokingIdentity, Certifying, Completed, Refused, Cancelled],
            When(Cancel)
                .RespondAsync(context => Task.FromResult(Refusal(context, context.Saga.EraseSentAt is null
                    ? $"a retirement in {context.Saga.CurrentState} cannot be cancelled"
                    : "the erase command was already sent"))));

        // The saga believes only answers to the command it issued: its command id and its nonce.
        During(Erasing,
            When(ErasureVerified, AnswersCurrentErase)
                .Then(context => AcceptEvidence(context.Saga, context.Message))
                .TransitionTo(RevokingIdentity)
                .OrderIdentityRevocation(),
            When(ErasureRejected, context => AnswersCurrentErase(context) && context.Message.Conclusive)
                .Then(context => Fail(context.Saga, context.Message.Reason, context.Message.Detail))
                .TransitionTo(Failed)
                .Publish(context => Failure(context.Saga)),
            // A receipt nobody can attribute to the device (forged, replayed, malformed) is recorded; the device may still answer.
            When(ErasureRejected, context => AnswersCurrentErase(context) && !context.Message.Conclusive)
                .Then(context =>
                {
                    context.Saga.LastRejectionReason = context.Message.Reason;
                    context.Saga.LastRejectionDetail = context.Message.Detail;
                    AuditTrailObserver.Record(context, Now, $"receipt rejected ({context.Message.Reason}: {context.Message.Detail}); still waiting for the device");
                }),
            // An offline device may come back any time before the command expires: attempts only pace the re-sends.
            When(DeadlineReached, IsDue)
                .IfElse(context => Now < context.Saga.EraseExpiresAt,
                    resend => resend
                        .Then(RecordUnanswered)
                        .OrderErase(),
                    unreachable => unreachable
                        .Then(context => Fail(context.Saga, context.Saga.LastRejectionReason ?? FailureReasons.DeviceUnreachable, Unreachable(context.Saga)))
                        .TransitionTo(Failed)
                        .Publish(context => Failure(context.Saga))));

        // A valid receipt that arrives after a rejected (forged, replayed) one still proves the erase.
        During(Failed,
            When(ErasureVerified, context => context.Saga.FailedIn == RetirementStates.Erasing && AnswersCurrentErase(context))
                .Then(context => AcceptEvidence(context.Saga, context.Message))
                .TransitionTo(RevokingIdentity)
                .OrderIdentityRevocation());

        // A retry resumes the step that failed: a fresh erase command, the certificate, or the quarantine.
        During(Failed,
            When(Retry)
                .Then(context => ClearFailure(context.Saga))
                .IfElse(context => context.Saga.FailedIn == RetirementStates.Erasing,
                    erase => erase
                        .Then(context => StartErase(context.Saga))
                        .TransitionTo(Erasing)
                        .OrderErase(),
                    other => other.IfElse(context => context.Saga.FailedIn == RetirementStates.Certifying,
                        certify => certify.TransitionTo(Certifying).OrderCertificate(),
                        quarantine => quarantine.TransitionTo(Quarantining).OrderQuarantine()))
                .Publish(context => Retried(context))
                .If(context => context.ResponseAddress is not null, request => request.Respond(context => Retried(context))),
            When(RecordDestruction)
                .Then(context =>
                {
                    context.Saga.Destruction = context.Message.Destruction;
                    context.Saga.SanitizationType = Destroy;
                    ClearFailure(context.Saga);
                })
                .Publish(context => DestructionRecorded(context))
                .TransitionTo(RevokingIdentity)
                .OrderIdentityRevocation());
        During([Requested, Quarantining, Erasing, RevokingIdentity, Certifying, Completed, Refused, Cancelled],
            When(Retry)
                .RespondAsync(context => Task.FromResult(Refusal(context, "only a failed retirement can be retried"))),
            When(RecordDestruction)
                .If(context => context.ResponseAddress is not null, asked => asked
                    .RespondAsync(context => Task.FromResult(Refusal(context, "physical destruction is recorded only on a failed retirement")))));

        During(RevokingIdentity,
            When(IdentityRevoked)
                .Then(context => context.Saga.IdentityCertificateSerial = context.Message.CertificateSerial)
                .TransitionTo(Certifying)
                .OrderCertificate());

        During(Certifying,
            When(CertificateIssued)
                .Then(context =>
                {
                    context.Saga.CertificateId = context.Message.CertificateId;
                    context.Saga.Deadline = null;
                })
                .TransitionTo(Completed)
                .Publish(context => Decommissioned(context)),
            When(CertificateRefused)
                .Then(context => Fail(context.Saga, FailureReasons.CertificateRefused, $"{context.Message.Reason}: {context.Message.Detail}"))
                .TransitionTo(Failed)
                .Publish(context => Failure(context.Saga)));

        // Steps that wait for another service send their order again when it has not answered in time.
        During(Requested, Quarantining, RevokingIdentity, Certifying,
            When(DeadlineReached, IsDue)
                .Then(context =>
                {
                    context.Saga.Redrives++;
                    AuditTrailObserver.Record(context, Now, $"no answer yet; command re-sent ({context.Saga.Redrives})");
                })
                .RedriveStep());

        DuringAny(
            When(RetireDevice)
                .If(Asked, answer => answer.RespondAsync(context => Task.FromResult(Submitted(context.Saga, alreadyActive: true)))));

        SetCompletedWhenFinalized();
    }

    public State Requested { get; private set; } = null!;
    public State Quarantining { get; private set; } = null!;
    public State Erasing { get; private set; } = null!;
    public State RevokingIdentity { get; private set; } = null!;
    public State Certifying { get; private set; } = null!;
    public State Completed { get; private set; } = null!;
    public State Refused { get; private set; } = null!;
    public State Cancelled { get; private set; } = null!;
    public State Failed { get; private set; } = null!;

    public Event<RetireDevice> RetireDevice { get; private set; } = null!;
    public Event<RetirementAccepted> RetirementAccepted { get; private set; } = null!;
    public Event<RetirementRefused> RetirementRefused { get; private set; } = null!;
    public Event<DeviceQuarantined> DeviceQuarantined { get; private set; } = null!;
    public Event<QuarantineRefused> QuarantineRefused { get; private set; } = null!;
    public Event<ErasureVerified> ErasureVerified { get; private set; } = null!;
    public Event<ErasureRejected> ErasureRejected { get; private set; } = null!;
    public Event<IdentityRevoked> IdentityRevoked { get; private set; } = null!;
    public Event<DisposalCertificateIssued> CertificateIssued { get; private set; } = null!;
    public Event<DisposalCertificateRefused> CertificateRefused { get; private set; } = null!;
    public Event<RetirementDeadlineReached> DeadlineReached { get; private set; } = null!;
    public Event<CancelRetirement> Cancel { get; private set; } = null!;
    public Event<RetryRetirement> Retry { get; private set; } = null!;
    public Event<RecordPhysicalDestruction> RecordDestruction { get; private set; } = null!;

    /// <summary>The states a device's retirement is over in; any other state holds the device.</summary>
    public static readonly string[] ClosedStates = [.. RetirementStates.Closed];

    private DateTimeOffset Now => _clock.GetUtcNow();
}
