using Decommission.Storage;
using MassTransit;
using MassTransit.Middleware;

namespace Decommission.Outbox;

/// <summary>
/// MassTransit's outbox hook for one service's SQLite file (<see cref="IOutboxContextFactory{TContext}"/>, as its Entity
/// Framework and MongoDB outboxes implement it). MassTransit's outbox pipe makes up to three passes over a delivered message:
/// consume it (sends captured, then written with the state change or on their own), deliver what it sent, clean up.
/// A redelivered message that was consumed already skips straight to delivering what it sent: that is how messages a broker
/// failure kept from leaving reach it when the broker is back.
/// </summary>
public sealed class StoreOutboxContextFactory<TDatabase>(OutboxStore<TDatabase> store, IServiceProvider provider) : IOutboxContextFactory<TDatabase>
    where TDatabase : ServiceDatabase
{
    public async Task Send<T>(ConsumeContext<T> context, OutboxConsumeOptions options, IPipe<OutboxConsumeContext<T>> next)
        where T : class
    {
        var messageId = context.GetOriginalMessageId() ?? throw new MessageException(typeof(T), "The outbox needs the message id of what it consumes");
        var known = await store.FindAsync(messageId, options.ConsumerId, context.CancellationToken);
        var progress = new InboxProgress(messageId, options.ConsumerId)
        {
            Consumed = known?.Consumed ?? false,
            Delivered = known?.Delivered ?? false,
            ReceiveCount = context.GetRedeliveryCount() + 1,
            MessagesKnown = known is null,
        };

        var continueProcessing = true;
        while (continueProcessing)
        {
            var outboxContext = new StoreOutboxConsumeContext<T, TDatabase>(context, options, provider, store, progress);
            // Only the consuming pass writes with state changes; delivering and cleaning up send for real.
            using (progress.Consumed ? null : TransactionalOutbox.Enter(outboxContext))
                await next.Send(outboxContext);
            continueProcessing = outboxContext.ContinueProcessing;
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("sqliteOutboxContextFactory");
}
