using Decommission.Contracts;
using MassTransit;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>What the machine's transitions write on the retirement.</summary>
public sealed partial class RetirementStateMachine
{
    /// <summary>A fresh erase command: new id and nonce, no attempt yet, and the overall deadline of the command.</summary>
    private void StartErase(Retirement saga)
    {
        saga.EraseCommandId = NewId.NextGuid();
        // 256 random bits, base64url: the device must echo it, and the saga believes only answers that carry it.
        saga.EraseNonce = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        saga.LastRejectionReason = null;
        saga.LastRejectionDetail = null;
        saga.EraseAttempts = 0;
        saga.EraseExpiresAt = Now + _settings.EraseDeadline;
        saga.SanitizationType = Purge;
    }

    private static void AcceptEvidence(Retirement saga, Contracts.ErasureVerified verified)
    {
        saga.Evidence = verified.Evidence;
        saga.SanitizationType = Purge;
        ClearFailure(saga);
    }

    private static void Fail(Retirement saga, string reason, string detail)
    {
        saga.FailureReason = reason;
        saga.FailureDetail = detail;
        saga.FailedIn = saga.CurrentState;
        saga.Deadline = null;
    }

    private static void ClearFailure(Retirement saga)
    {
        saga.FailureReason = null;
        saga.FailureDetail = null;
        saga.Redrives = 0;
    }

    /// <summary>
    /// Notes an attempt that timed out, and once, when the growing attempts are over, that the retirement now waits for the
    /// device until the command expires. The re-sends after that are not written: the trail stays readable for a week's wait.
    /// </summary>
    private void RecordUnanswered(BehaviorContext<Retirement> context)
    {
        var saga = context.Saga;
        if (saga.EraseAttempts < _settings.EraseAttempts)
            AuditTrailObserver.Record(context, Now, $"erase attempt {saga.EraseAttempts} timed out; the command is sent again");
        else if (saga.EraseAttempts == _settings.EraseAttempts)
            AuditTrailObserver.Record(context, Now,
                $"device has not answered {saga.EraseAttempts} attempt(s); waiting until {saga.EraseExpiresAt:O} (the command waits in its queue, re-sent every {_settings.AttemptTimeout(saga.EraseAttempts)})");
    }

    /// <summary>Why an erase failed at its command's expiry: no receipt, or only receipts that were rejected.</summary>
    private static string Unreachable(Retirement saga) => saga.LastRejectionReason is null
        ? $"no verified receipt by the command's expiry {saga.EraseExpiresAt:O} ({saga.EraseAttempts} send(s))"
        : $"no verified receipt by the command's expiry {saga.EraseExpiresAt:O} ({saga.EraseAttempts} send(s)); the last receipt was rejected: {saga.LastRejectionDetail}";
}
