using MassTransit;
using MassTransit.RabbitMqTransport;
using MassTransit.RabbitMqTransport.Configuration;
using MassTransit.Transports;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using BrokerRefusal = RabbitMQ.Client.Exceptions.PublishException;

namespace Decommission.ServiceDefaults;

/// <summary>
/// Reconnects the bus when the broker refuses a publish (basic.nack), so the refused message is retried on fresh channels.
/// <para>
/// Why: on RabbitMQ 3.10 a channel that first publishes to a quorum queue while the queue's record still names a leader on a
/// lost node (the seconds between the node's loss and the new leader's repair of the record) keeps that lost node as the
/// first server it asks, asks it again on every publish, and nacks every publish to that queue for as long as the channel
/// lives — the queue itself is healthy, and channels opened later publish to it fine. MassTransit retries a refused
/// publish on the same channel (all of a bus's publishes share its bus endpoint's channel), so without this a service's
/// publishes to that queue would be refused for good: the cluster failure run saw an orchestrator's deadline events refused
/// for minutes after a broker node was killed.
/// </para>
/// <para>
/// How: every refused attempt (MassTransit reports each to send and publish observers) asks for the bus's connection to be closed; its
/// channels close with it, MassTransit opens a new connection and new channels, its receive endpoints consume again, and
/// the retry goes out on a channel that knows the queue's current leader. At most one reconnect per
/// <see cref="MinimumInterval"/>. Unconfirmed deliveries of the closed channels are redelivered, as after a node loss.
/// </para>
/// </summary>
public sealed class BrokerRejectionRecovery(IServiceProvider services, ILogger<BrokerRejectionRecovery> logger) : ISendObserver, IPublishObserver
{
    /// <summary>The least time between two reconnects (MassTransit retries a refused publish at 3 to 30 s).</summary>
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(10);

    private long _lastReconnect = -1; // Environment.TickCount64 of the last reconnect; -1: none yet
    private int _reconnecting;

    /// <summary>How many times this process reconnected its bus after a refusal.</summary>
    public int Reconnects { get; private set; }

    public Task PreSend<T>(SendContext<T> context) where T : class => Task.CompletedTask;

    public Task PostSend<T>(SendContext<T> context) where T : class => Task.CompletedTask;

    public Task SendFault<T>(SendContext<T> context, Exception exception) where T : class
    {
        if (Refusal(exception) is { } refusal)
            Reconnect(context.DestinationAddress, refusal);
        return Task.CompletedTask;
    }

    public Task PrePublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

    public Task PostPublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class
    {
        if (Refusal(exception) is { } refusal)
            Reconnect(context.DestinationAddress, refusal);
        return Task.CompletedTask;
    }

    /// <summary>The broker's refusal (a nack, not a return of an unroutable message) in <paramref name="exception"/>'s chain.</summary>
    private static BrokerRefusal? Refusal(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is BrokerRefusal { IsReturn: false } refused)
                return refused;
        }
        return null;
    }

    private void Reconnect(Uri? destination, BrokerRefusal refusal)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastReconnect);
        if (last >= 0 && now - last < (long)MinimumInterval.TotalMilliseconds)
            return;
        if (Interlocked.Exchange(ref _reconnecting, 1) == 1)
            return;
        Interlocked.Exchange(ref _lastReconnect, now);
        // Not on the publishing caller's path: it goes on to MassTransit's retry, which waits at least 3 s.
        _ = Task.Run(async () =>
        {
            try
            {
                logger.LogWarning("The broker refused a publish to {Destination} ({Reason}); closing the bus's connection so the retry goes out on new channels",
                    destination, refusal.Message);
                var host = services.GetRequiredService<IBusInstance>().HostConfiguration as IRabbitMqHostConfiguration
                    ?? throw new InvalidOperationException("the bus is not on RabbitMQ");
                await host.ConnectionContextSupervisor.Send(Pipe.ExecuteAsync<ConnectionContext>(connection =>
                    connection.Connection.CloseAsync(RabbitMQ.Client.Constants.ReplySuccess, "publish refused: reconnecting", TimeSpan.FromSeconds(10), abort: true)),
                    CancellationToken.None);
                Reconnects++;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Closing the bus's connection after a refused publish failed; MassTransit goes on retrying");
            }
            finally
            {
                Interlocked.Exchange(ref _reconnecting, 0);
            }
        });
    }
}
