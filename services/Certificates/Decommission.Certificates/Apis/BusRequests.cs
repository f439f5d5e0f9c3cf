using Decommission.ServiceDefaults;
using MassTransit;

namespace Decommission.Certificates.Apis;

public static class BusRequests
{
    /// <summary>
    /// A request client that sends through the message type's own exchange (bound to its consumer's queue by the broker's
    /// set-up): this service's broker user may write those exchanges, not the queues.
    /// </summary>
    public static IRequestClient<T> ExchangeRequestClient<T>(this IBus bus) where T : class =>
        bus.CreateRequestClient<T>(TypeExchange.Of<T>(bus), RequestTimeout.After(s: 30));
}
