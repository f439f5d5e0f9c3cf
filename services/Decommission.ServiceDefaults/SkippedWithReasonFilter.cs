using MassTransit;
using MassTransit.Transports;

namespace Decommission.ServiceDefaults;

/// <summary>
/// Moves a message no consumer of the endpoint takes to its <c>_skipped</c> queue, like MassTransit's own dead-letter
/// filter, but with a reason an operator can act on in the MT-Reason header: which queue, and which message types it carried.
/// </summary>
public sealed class SkippedWithReasonFilter : IFilter<ReceiveContext>
{
    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        if (!context.TryGetPayload(out IDeadLetterTransport? transport))
            throw new TransportException(context.InputAddress, $"The {nameof(IDeadLetterTransport)} was not available on the {nameof(ReceiveContext)}.");
        var types = MessageTypes(context) is { Count: > 0 } named
            ? string.Join(", ", named.Select(t => t.Replace("urn:message:", "", StringComparison.Ordinal)))
            : "a message of no known type";
        var queue = context.InputAddress.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? context.InputAddress.ToString();
        await transport.Send(context, $"skipped: no consumer on queue {queue} takes {types}");
        await next.Send(context);
    }

    // The envelope's own list (MassTransit's JSON envelope: "messageType": ["urn:message:Namespace:Type", …]).
    private static List<string> MessageTypes(ReceiveContext context)
    {
        try
        {
            using var envelope = System.Text.Json.JsonDocument.Parse(context.Body.GetBytes());
            return envelope.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                   && envelope.RootElement.TryGetProperty("messageType", out var types) && types.ValueKind == System.Text.Json.JsonValueKind.Array
                ? types.EnumerateArray().Select(t => Decommission.DeviceProtocol.UntrustedText.Safe(t.ValueKind == System.Text.Json.JsonValueKind.String ? t.GetString() : "", 200)).Where(t => t.Length > 0).Take(8).ToList()
                : [];
        }
        catch (System.Text.Json.JsonException)
        {
            return [];
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("skipped-with-reason");
}
