using MassTransit;
using MassTransit.Serialization;
using MassTransit.Testing;

namespace Decommission.Testing;

/// <summary>
/// What left a test host on its bus: messages of a type published or sent directly, and those a transactional outbox
/// delivered after its commit (MassTransit sends those as the serialised body they were stored as; here they are read back).
/// </summary>
public static class BusTraffic
{
    // What is there now, without waiting for more (MassTransit's lists wait up to the harness timeout for further matches).
    private static readonly CancellationToken NowOnly = new(canceled: true);

    /// <summary>Every message of type <typeparamref name="T"/> that left so far, in no particular order.</summary>
    public static IReadOnlyList<T> Of<T>(ITestHarness harness) where T : class
    {
        var urn = MessageUrn.ForTypeString<T>();
        var found = harness.Published.Select<T>(NowOnly).Select(m => m.Context.Message)
            .Concat(harness.Sent.Select<T>(NowOnly).Select(m => m.Context.Message))
            .ToList();
        foreach (var sent in harness.Sent.Select<SerializedMessageBody>(NowOnly))
        {
            var context = sent.Context;
            if (!context.SupportedMessageTypes.Contains(urn))
                continue;
            var body = context.Serializer.GetMessageBody(context);
            var serialized = SystemTextJsonMessageSerializer.Instance.Deserialize(body, context.Headers, context.DestinationAddress);
            if (serialized.TryGetMessage<T>(out var message) && message is not null)
                found.Add(message);
        }
        return found;
    }
}
