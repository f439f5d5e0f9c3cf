using System.Text;
using Decommission.DeviceGateway.Receipts;
using Decommission.DeviceProtocol;
using Decommission.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Decommission.DeviceGateway.Channel;

/// <summary>
/// The device channel (docs/device-protocol.md, "Transport"): the AMQP side of RabbitMQ's MQTT plugin in the devices'
/// virtual host. Commands and verdicts go to amq.topic on the device's command topic, into its MQTT session queue, where one
/// copy waits while it is offline; receipts come from every device's receipt topic into the gateway's receipt queue.
/// </summary>
public sealed class AmqpDeviceChannel(IOptions<DeviceGatewayOptions> options, IOptions<BrokerClusterOptions> cluster, ReceiptProcessor processor,
    TimeProvider clock, ILogger<AmqpDeviceChannel> logger) : IDeviceChannel, IHostedService, IHealthCheck, IAsyncDisposable
{
    private const ushort ReceiptsInParallel = 16;
    private static readonly TimeSpan RepairInterval = TimeSpan.FromSeconds(2);
    private readonly SemaphoreSlim _repair = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private IConnection? _connection;
    private IChannel? _publishChannel;
    private IChannel? _receiptChannel;
    private AsyncEventingBasicConsumer? _consumer;
    private string? _problem = "not started";
    private Task? _watch;

    private string ReceiptQueue => options.Value.DeviceReceiptQueue;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await EnsureOpenAsync(cancellationToken);
        // A channel the broker closed (a deleted queue, a refused operation) is not recovered by the client: the watch
        // re-creates the receipt queue and its consumer, and the health check says unhealthy until it has.
        _watch = Task.Run(WatchAsync, CancellationToken.None);
        logger.LogInformation("Device channel up on {Broker}: commands to {Exchange} devices.<id>.commands, receipts from {ReceiptQueue}",
            $"{options.Value.DeviceBrokerUri.Scheme}://{options.Value.DeviceBrokerUri.Authority}{options.Value.DeviceBrokerUri.AbsolutePath}",
            DeviceChannelNames.TopicExchange, ReceiptQueue);
    }

    private async Task WatchAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RepairInterval, clock, _stopping.Token);
                await EnsureOpenAsync(_stopping.Token);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "The device channel is down; retrying in {Interval}", RepairInterval);
            }
        }
    }

    /// <summary>Opens (again) whatever is closed: the connection, the command channel, the receipt queue and its consumer.</summary>
    private async Task EnsureOpenAsync(CancellationToken cancellationToken)
    {
        await _repair.WaitAsync(cancellationToken);
        try
        {
            if (_connection is not { IsOpen: true })
            {
                if (_connection is not null)
                    await _connection.DisposeAsync();
                _publishChannel = _receiptChannel = null;
                _connection = await DeviceBrokerConnection.ConnectAsync(options.Value, cluster.Value, cancellationToken);
            }

            if (_publishChannel is not { IsOpen: true })
            {
                var repaired = _publishChannel is not null;
                _publishChannel = await _connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
                if (repaired)
                    logger.LogWarning("Device channel: the command channel was closed by the broker and is open again");
            }

            if (_receiptChannel is not { IsOpen: true } || _consumer is not { IsRunning: true })
            {
                var repaired = _receiptChannel is not null;
                if (_receiptChannel is { IsOpen: true } stale)
                    await stale.CloseAsync(cancellationToken);
                // Receipts are verified concurrently, as many as are fetched ahead (each claims its command in its own transaction).
                _receiptChannel = await _connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false,
                        consumerDispatchConcurrency: ReceiptsInParallel), cancellationToken);
                // A quorum queue on a cluster (the broker's set-up declares it so: ops/up.sh --cluster, definitions-cluster.json):
                // receipts waiting there outlive a node.
                await _receiptChannel.QueueDeclareAsync(ReceiptQueue, durable: true, exclusive: false, autoDelete: false,
                    Topology.BrokerTopology.QueueArguments(cluster.Value.QuorumQueues), cancellationToken: cancellationToken);
                await _receiptChannel.QueueBindAsync(ReceiptQueue, DeviceChannelNames.TopicExchange, DeviceChannelNames.ReceiptBindingKey,
                    cancellationToken: cancellationToken);
                await _receiptChannel.BasicQosAsync(0, ReceiptsInParallel, false, cancellationToken);
                _consumer = new AsyncEventingBasicConsumer(_receiptChannel);
                _consumer.ReceivedAsync += OnReceipt;
                await _receiptChannel.BasicConsumeAsync(ReceiptQueue, autoAck: false, _consumer, cancellationToken);
                if (repaired)
                    logger.LogWarning("Device channel: the receipt queue or its consumer was lost and is back");
            }
            _problem = null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _problem = e.Message;
            throw;
        }
        finally
        {
            _repair.Release();
        }
    }

    /// <summary>Unhealthy while the gateway cannot send commands or receive receipts.</summary>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var problem = _problem
            ?? (_connection is not { IsOpen: true } ? "no connection to the device broker"
                : _publishChannel is not { IsOpen: true } ? "the command channel is closed"
                : _receiptChannel is not { IsOpen: true } || _consumer is not { IsRunning: true } ? "receipts are not being consumed"
                : null);
        return Task.FromResult(problem is null ? HealthCheckResult.Healthy("device channel open") : HealthCheckResult.Unhealthy($"device channel: {problem}"));
    }

    public Task SendAsync(EraseCommand command, DateTimeOffset deliverBy, CancellationToken cancellationToken) =>
        SendToInboxAsync(command.DeviceId, command.CommandId, Encoding.UTF8.GetBytes(Wire.Serialize(command)), deliverBy, cancellationToken);

    /// <summary>A signed verdict for the device's inbox, on the same topic as its commands.</summary>
    public Task SendVerdictAsync(string deviceId, string verdictId, byte[] signedVerdict, DateTimeOffset deliverBy, CancellationToken cancellationToken) =>
        SendToInboxAsync(deviceId, verdictId, signedVerdict, deliverBy, cancellationToken);

    private async Task SendToInboxAsync(string deviceId, string messageId, byte[] body, DateTimeOffset deliverBy, CancellationToken cancellationToken)
    {
        var properties = DeviceInbox.Properties(messageId, deliverBy, clock.GetUtcNow());
        try
        {
            // Mandatory: the device's session queue normally exists (made at registration), and a message that would route
            // nowhere comes back instead of being dropped.
            await DeviceInbox.PublishAsync(await PublishChannelAsync(cancellationToken), deviceId, properties, body, cancellationToken);
        }
        catch (PublishException returned) when (returned.IsReturn)
        {
            // The session queue is gone (expired unused, or deleted with the device's broker identity): make it again.
            await PrepareDeviceAsync(deviceId, cancellationToken);
            await DeviceInbox.PublishAsync(await PublishChannelAsync(cancellationToken), deviceId, properties, body, cancellationToken);
        }
    }

    /// <summary>The device's MQTT session queue, made as the MQTT plugin makes it, bound to its command topic: commands wait
    /// there even for a device that never connected, and its own SUBSCRIBE later finds the queue equivalent and takes it over.</summary>
    public async Task PrepareDeviceAsync(string deviceId, CancellationToken cancellationToken) =>
        await DeviceInbox.PrepareAsync(await PublishChannelAsync(cancellationToken), deviceId, cancellationToken);

    private async Task<IChannel> PublishChannelAsync(CancellationToken cancellationToken)
    {
        if (_publishChannel is not { IsOpen: true })
            await EnsureOpenAsync(cancellationToken);
        return _publishChannel!;
    }

    private async Task OnReceipt(object sender, BasicDeliverEventArgs delivery)
    {
        var channel = _receiptChannel!;
        try
        {
            // The topic it came on names the device whose certificate published it (the broker's topic permission sees to that).
            var sentBy = DeviceChannelNames.DeviceOfReceiptRoutingKey(delivery.RoutingKey) ?? $"(not a receipt topic: {delivery.RoutingKey})";
            await processor.ProcessAsync(delivery.Body, delivery.CancellationToken, sentBy);
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        }
        catch (Exception e)
        {
            // Verdicts are only lost if nobody records them: put the receipt back and try again shortly.
            logger.LogError(e, "Could not process a receipt; it goes back on the queue");
            await Task.Delay(TimeSpan.FromSeconds(1));
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_watch is not null)
            await _watch;
        foreach (var disposable in new IAsyncDisposable?[] { _receiptChannel, _publishChannel, _connection })
            if (disposable is not null)
                await disposable.DisposeAsync();
        _receiptChannel = null;
        _publishChannel = null;
        _connection = null;
    }
}
