using System.Globalization;
using System.Text;
using Decommission.DeviceGateway.Receipts;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Decommission.DeviceGateway.Channel;

/// <summary>
/// The device channel over AMQP 0-9-1 (docs/device-protocol.md): commands go to a topic exchange routed by device id
/// into each device's durable queue, where they wait while the device is offline; receipts come back through a queue.
/// </summary>
public sealed class AmqpDeviceChannel(IOptions<DeviceGatewayOptions> options, ReceiptProcessor processor, TimeProvider clock,
    ILogger<AmqpDeviceChannel> logger) : IDeviceChannel, IHostedService, IHealthCheck, IAsyncDisposable
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

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await EnsureOpenAsync(cancellationToken);
        // A channel the broker closed (a deleted exchange or queue, a refused operation) is not recovered by the client:
        // the watch re-creates the topology and the consumer, and the health check says unhealthy until it has.
        _watch = Task.Run(WatchAsync, CancellationToken.None);
        logger.LogInformation("Device channel up: commands to {CommandExchange}, receipts from {ReceiptQueue}",
            DeviceChannelNames.CommandExchange, DeviceChannelNames.ReceiptQueue);
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

    /// <summary>Opens (again) whatever is closed: the connection, the command channel and exchange, the receipt queue and its consumer.</summary>
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
                var factory = new ConnectionFactory
                {
                    Uri = options.Value.DeviceBrokerUri,
                    ClientProvidedName = "decommission-device-gateway",
                    AutomaticRecoveryEnabled = true,
                };
                _connection = await factory.CreateConnectionAsync(cancellationToken);
            }

            if (_publishChannel is not { IsOpen: true })
            {
                var repaired = _publishChannel is not null;
                _publishChannel = await _connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
                await _publishChannel.ExchangeDeclareAsync(DeviceChannelNames.CommandExchange, ExchangeType.Topic, durable: true, cancellationToken: cancellationToken);
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
                await _receiptChannel.ExchangeDeclareAsync(DeviceChannelNames.ReceiptExchange, ExchangeType.Fanout, durable: true, cancellationToken: cancellationToken);
                await _receiptChannel.QueueDeclareAsync(DeviceChannelNames.ReceiptQueue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
                await _receiptChannel.QueueBindAsync(DeviceChannelNames.ReceiptQueue, DeviceChannelNames.ReceiptExchange, "", cancellationToken: cancellationToken);
                await _receiptChannel.BasicQosAsync(0, ReceiptsInParallel, false, cancellationToken);
                _consumer = new AsyncEventingBasicConsumer(_receiptChannel);
                _consumer.ReceivedAsync += OnReceipt;
                await _receiptChannel.BasicConsumeAsync(DeviceChannelNames.ReceiptQueue, autoAck: false, _consumer, cancellationToken);
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

    public async Task SendAsync(EraseCommand command, DateTimeOffset deliverBy, CancellationToken cancellationToken)
    {
        if (_publishChannel is not { IsOpen: true })
            await EnsureOpenAsync(cancellationToken);
        var channel = _publishChannel!;
        var ttl = Math.Max(1, (long)(deliverBy - clock.GetUtcNow()).TotalMilliseconds);
        var properties = new BasicProperties
        {
            MessageId = command.CommandId,
            ContentType = DeviceChannelNames.ContentType,
            Persistent = true,
            // The copy waits until the command expires (an offline device may be away for days); a re-send replaces it (see the queue's bound).
            Expiration = ttl.ToString(CultureInfo.InvariantCulture),
        };

        var body = Encoding.UTF8.GetBytes(Wire.Serialize(command));
        try
        {
            // Mandatory: a device's queue normally exists (the device declares it when it first connects; see below),
            // and a command that would route nowhere comes back instead of being dropped.
            await Publish(channel, command.DeviceId, properties, body, cancellationToken);
        }
        catch (PublishException returned) when (returned.IsReturn)
        {
            // The device's queue is gone (registered before queues were made at registration, or deleted): make it again.
            await PrepareDeviceAsync(command.DeviceId, cancellationToken);
            await Publish(channel, command.DeviceId, properties, body, cancellationToken);
        }
    }

    /// <summary>A verdict goes where the device's commands go, and waits there as long as the command would.</summary>
    public async Task SendVerdictAsync(string deviceId, string verdictId, byte[] signedVerdict, DateTimeOffset deliverBy, CancellationToken cancellationToken)
    {
        if (_publishChannel is not { IsOpen: true })
            await EnsureOpenAsync(cancellationToken);
        var ttl = Math.Max(1, (long)(deliverBy - clock.GetUtcNow()).TotalMilliseconds);
        var properties = new BasicProperties
        {
            MessageId = verdictId,
            ContentType = DeviceChannelNames.ContentType,
            Type = EraseVerdict.Type,
            Persistent = true,
            Expiration = ttl.ToString(CultureInfo.InvariantCulture),
        };
        try
        {
            await Publish(_publishChannel!, deviceId, properties, signedVerdict, cancellationToken);
        }
        catch (PublishException returned) when (returned.IsReturn)
        {
            await PrepareDeviceAsync(deviceId, cancellationToken);
            await Publish(_publishChannel!, deviceId, properties, signedVerdict, cancellationToken);
        }
    }

    /// <summary>The device's durable command queue, bound to the command exchange by its routing key: commands wait there
    /// while it is offline. Only the gateway creates it; the device's broker user may only read it.</summary>
    public async Task PrepareDeviceAsync(string deviceId, CancellationToken cancellationToken)
    {
        if (_publishChannel is not { IsOpen: true })
            await EnsureOpenAsync(cancellationToken);
        var channel = _publishChannel!;
        var queue = DeviceChannelNames.CommandQueue(deviceId);
        try
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, OneCopyWaiting, cancellationToken: cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.PreconditionFailed)
        {
            // Made before the bound existed: it still works, but re-sent copies can pile up in it until they expire.
            logger.LogWarning("Device queue {Queue} exists without the one-copy bound ({Error}); give it a policy max-length 1, overflow drop-head",
                queue, e.ShutdownReason.ReplyText);
            await EnsureOpenAsync(cancellationToken);
            channel = _publishChannel!;
        }
        await channel.QueueBindAsync(queue, DeviceChannelNames.CommandExchange, DeviceChannelNames.CommandRoutingKey(deviceId), cancellationToken: cancellationToken);
    }

    // At most one ready command per device: a copy re-sent while an older one still waits replaces it (the oldest goes), so a device
    // offline for days finds one command, not one per attempt. A copy the device is working on (unacked) does not count.
    private static readonly Dictionary<string, object?> OneCopyWaiting = new()
    {
        ["x-max-length"] = 1,
        ["x-overflow"] = "drop-head",
    };

    // Publishes concurrently on one channel; each call returns once the broker has confirmed its message.
    private static async Task Publish(IChannel channel, string deviceId, BasicProperties properties, byte[] body, CancellationToken cancellationToken) =>
        await channel.BasicPublishAsync(DeviceChannelNames.CommandExchange, DeviceChannelNames.CommandRoutingKey(deviceId),
            mandatory: true, properties, body, cancellationToken);

    private async Task OnReceipt(object sender, BasicDeliverEventArgs delivery)
    {
        var channel = _receiptChannel!;
        try
        {
            await processor.ProcessAsync(delivery.Body, delivery.CancellationToken);
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
