using MassTransit;

namespace Decommission.ServiceDefaults;

/// <summary>
/// Sending through a message type's own exchange, which the broker's set-up binds to the queue that takes it (named by the
/// bus catalogue): every broker user may write its own messages' exchanges and holds no right on other processes' queues.
/// </summary>
public static class TypeExchange
{
    /// <summary>The address of <typeparamref name="T"/>'s own exchange.</summary>
    public static Uri Of<T>(IBus bus) where T : class =>
        bus.Topology.TryGetPublishAddress<T>(out var exchange)
            ? exchange
            : throw new InvalidOperationException($"The bus has no address for {typeof(T).Name}'s exchange");

    /// <summary>
    /// Mandatory on RabbitMQ: if the exchange lost its binding to the queue (deleted and made again by a sender), the send fails
    /// and is tried again, instead of vanishing while the broker confirms it.
    /// </summary>
    public static void Mandatory(SendContext context)
    {
        if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
            rabbit.Mandatory = true;
    }
}
