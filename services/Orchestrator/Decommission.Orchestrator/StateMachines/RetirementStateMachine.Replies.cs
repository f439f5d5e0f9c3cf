using Decommission.Contracts;
using MassTransit;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>The events the machine publishes and the answers it gives.</summary>
public sealed partial class RetirementStateMachine
{
    private RetirementFailed Failure(Retirement saga) => new()
    {
        RetirementId = saga.CorrelationId,
        DeviceId = saga.DeviceId,
        Reason = saga.FailureReason ?? "",
        Detail = saga.FailureDetail ?? "",
        FailedIn = saga.FailedIn ?? "",
        FailedAt = Now,
    };

    private RetirementCancelled Cancellation(BehaviorContext<Retirement, CancelRetirement> context) => new()
    {
        RetirementId = context.Saga.CorrelationId,
        DeviceId = context.Saga.DeviceId,
        RequestedBy = context.Message.RequestedBy,
        Reason = context.Message.Reason,
        CancelledAt = Now,
    };

    private static RetirementRetried Retried(BehaviorContext<Retirement, RetryRetirement> context) => new()
    {
        RetirementId = context.Saga.CorrelationId,
        DeviceId = context.Saga.DeviceId,
        RequestedBy = context.Message.RequestedBy,
        ResumedIn = context.Saga.CurrentState,
    };

    private static PhysicalDestructionRecorded DestructionRecorded(BehaviorContext<Retirement, RecordPhysicalDestruction> context) => new()
    {
        RetirementId = context.Saga.CorrelationId,
        DeviceId = context.Saga.DeviceId,
        Destruction = context.Message.Destruction,
    };

    private DeviceDecommissioned Decommissioned(BehaviorContext<Retirement, DisposalCertificateIssued> context) => new()
    {
        RetirementId = context.Saga.CorrelationId,
        DeviceId = context.Saga.DeviceId,
        SanitizationType = context.Saga.SanitizationType ?? Purge,
        CertificateId = context.Message.CertificateId,
        CompletedAt = Now,
    };

    private static RetirementSubmitted Submitted(Retirement saga, bool alreadyActive) => new()
    {
        RetirementId = saga.CorrelationId,
        DeviceId = saga.DeviceId,
        AlreadyActive = alreadyActive,
        State = saga.CurrentState,
    };

    /// <summary>The answer to a request for a device another retirement already holds: that retirement.</summary>
    private static RetirementSubmitted AlreadyRetiring(BehaviorContext<Retirement, RetireDevice> context) => new()
    {
        RetirementId = context.Saga.OtherOpenRetirement!.Id,
        DeviceId = context.Message.DeviceId,
        AlreadyActive = true,
        State = context.Saga.OtherOpenRetirement.State,
    };

    private static RetirementCommandRefused Refusal<T>(BehaviorContext<Retirement, T> context, string reason)
        where T : class => new()
    {
        RetirementId = context.Saga.CorrelationId,
        Command = typeof(T).Name,
        State = context.Saga.CurrentState,
        Reason = reason,
    };

    private static RetirementNotFound NotFound(Guid retirementId) => new() { RetirementId = retirementId };
}
