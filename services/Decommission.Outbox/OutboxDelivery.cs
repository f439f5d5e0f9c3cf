using Decommission.Storage;
using MassTransit;
using MassTransit.Middleware;
using MassTransit.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Outbox;

/// <summary>
/// The backstop: a consumed message whose sends never left (its redelivery went elsewhere, or never came) has them delivered
/// from the file after <see cref="OutboxOptions.DeliverAfter"/>; delivered messages are forgotten after
/// <see cref="OutboxOptions.RememberDeliveredFor"/>. Normally the consumer's own delivery, or the broker's redelivery of the
/// consumed message, gets there first.
/// </summary>
public sealed class OutboxDelivery<TDatabase>(
    OutboxStore<TDatabase> store,
    IBus bus,
    IOptions<OutboxOptions> options,
    TimeProvider clock,
    ILogger<OutboxDelivery<TDatabase>> logger) : BackgroundService
    where TDatabase : ServiceDatabase
{
    private const int BatchSize = 200;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SweepInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(interval, clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            if (stoppingToken.IsCancellationRequested)
                return;
            try
            {
                await DeliverOverdueAsync(stoppingToken);
                await store.ForgetDeliveredAsync(clock.GetUtcNow() - options.Value.RememberDeliveredFor);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Outbox of {Database}: delivering overdue messages failed; trying again in {Interval}", typeof(TDatabase).Name, interval);
            }
        }
    }

    /// <summary>Delivers what consumed messages sent that has waited longer than DeliverAfter; returns how many messages were sent.</summary>
    public async Task<int> DeliverOverdueAsync(CancellationToken cancellationToken = default)
    {
        var sent = 0;
        foreach (var (messageId, consumerId) in await store.UndeliveredAsync(clock.GetUtcNow() - options.Value.DeliverAfter, BatchSize, cancellationToken))
        {
            foreach (var message in await store.LoadAsync(messageId, consumerId, cancellationToken))
            {
                message.Deserialize(SystemTextJsonMessageSerializer.Instance);
                var endpoint = await bus.GetSendEndpoint(message.DestinationAddress!);
                await endpoint.Send(new SerializedMessageBody(), new OutboxMessageSendPipe(message, message.DestinationAddress), cancellationToken);
                sent++;
            }
            await store.MarkDeliveredAsync(messageId, consumerId);
        }
        if (sent > 0)
            logger.LogInformation("Outbox of {Database}: delivered {Count} overdue messages", typeof(TDatabase).Name, sent);
        return sent;
    }
}

/// <summary>The outbox's timing (section <c>Outbox</c>).</summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>How often the backstop looks for sends that never left.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a consumed message's sends may wait for their own delivery before the backstop sends them.</summary>
    public TimeSpan DeliverAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a delivered message is remembered, so that a redelivery within it is not consumed twice.</summary>
    public TimeSpan RememberDeliveredFor { get; set; } = TimeSpan.FromHours(6);
}
