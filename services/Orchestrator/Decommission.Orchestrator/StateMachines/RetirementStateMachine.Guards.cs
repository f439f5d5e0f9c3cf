using System.Security.Cryptography;
using System.Text;
using Decommission.Contracts;
using Decommission.Orchestrator.Deadlines;
using MassTransit;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>Which messages the machine believes, and when.</summary>
public sealed partial class RetirementStateMachine
{
    // The sweeper may fire early, late, or for a deadline that has since moved: act only on the current, due one.
    private bool IsDue(BehaviorContext<Retirement, RetirementDeadlineReached> context) =>
        context.Saga.Deadline is { } deadline
        && deadline.ToUnixTimeMilliseconds() == context.Message.Deadline.ToUnixTimeMilliseconds()
        && deadline <= Now;

    private static bool AnswersCurrentErase(BehaviorContext<Retirement, Contracts.ErasureVerified> context) =>
        Answers(context.Saga, context.Message.CommandId, context.Message.Nonce);

    private static bool AnswersCurrentErase(BehaviorContext<Retirement, Contracts.ErasureRejected> context) =>
        Answers(context.Saga, context.Message.CommandId, context.Message.Nonce);

    private static bool Answers(Retirement saga, Guid commandId, string nonce) =>
        saga.EraseCommandId == commandId && saga.EraseNonce is { } expected
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(nonce ?? ""));

    // A RetireDevice sent without a response address (the end-of-life scheduler's, a bulk sender's) gets no answer:
    // MassTransit would publish it to nobody, one more message per retirement for the broker.
    private static bool Asked(BehaviorContext<Retirement, RetireDevice> context) => context.ResponseAddress is not null;
}
