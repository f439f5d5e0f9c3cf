using System.Security.Cryptography;
using System.Text;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>The retirement id a RetireDevice request starts: its message id, so a redelivery lands on the same retirement.</summary>
internal static class RetirementIds
{
    public static Guid For(ConsumeContext<RetireDevice> context)
    {
        if (context.MessageId is { } messageId && messageId != Guid.Empty)
            return messageId;

        // A bare AMQP client may leave out the message id: derive one from the request itself so redelivery still matches.
        var m = context.Message;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{m.DeviceId}\n{m.RequestedBy}\n{m.RequestedAt:O}\n{m.Reason}"));
        return new Guid(hash.AsSpan(0, 16));
    }
}
