using System.Security.Cryptography;
using System.Text.Json;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Decommission.DeviceAgent;

/// <summary>
/// Simulated devices on the device channel. Each device reads its own durable command queue on its own channel with
/// prefetch 1, so a slow device holds up only itself; receipts are published with confirms. A connection carries at
/// most <see cref="DevicesPerConnection"/> devices (RabbitMQ allows 2047 channels on one). Devices declare nothing (the
/// fleet's broker user may not): the gateway makes a device's queue when its identity is registered, and a device whose
/// queue is not there yet tries again, quietly, until it is.
/// </summary>
public sealed class DeviceFleet : IAsyncDisposable
{
    // A command with a missing or null field is malformed, not a device crash.
    private const int DevicesConnectingAtOnce = 16;
    public const int DevicesPerConnection = 1000;
    private static readonly TimeSpan QueueRetryFirst = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan QueueRetryMax = TimeSpan.FromSeconds(5);

    private readonly Uri rabbitMqUri;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private readonly List<IChannel> channels = [];
    private readonly List<Task> comingOnline = [];
    private readonly List<IConnection> connections = [];

    public DeviceFleet(Uri rabbitMqUri, IEnumerable<SimulatedDevice> devices, TimeProvider time, ILogger<DeviceFleet> logger)
    {
        this.rabbitMqUri = rabbitMqUri;
        this.time = time;
        this.logger = logger;
        Devices = devices.ToDictionary(device => device.Id);
    }

    /// <summary>The fleet <paramref name="options"/> describe, each device trusting the gateway key at GatewayPublicKeyPath.</summary>
    public static DeviceFleet Create(DeviceFleetOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        using var gatewayKey = ECDsa.Create();
        gatewayKey.ImportFromPem(File.ReadAllText(options.GatewayPublicKeyPath));
        var gatewayPublicKey = gatewayKey.ExportSubjectPublicKeyInfo();
        var now = time.GetUtcNow();
        var deviceLogger = loggers.CreateLogger<SimulatedDevice>();
        return new DeviceFleet(options.RabbitMqUri,
            options.ResolveDevices(now).Select(spec => new SimulatedDevice(spec, gatewayPublicKey, now, deviceLogger)),
            time, loggers.CreateLogger<DeviceFleet>());
    }

    public IReadOnlyDictionary<string, SimulatedDevice> Devices { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory { Uri = rabbitMqUri, ClientProvidedName = "decommission-device-agent" };
        var devices = Devices.Values.ToList();
        for (var i = 0; i < Math.Max(1, (devices.Count + DevicesPerConnection - 1) / DevicesPerConnection); i++)
            connections.Add(await factory.CreateConnectionAsync(cancellationToken));
        await Parallel.ForEachAsync(devices.Select((device, i) => (device, connection: connections[i / DevicesPerConnection])),
            new ParallelOptions { MaxDegreeOfParallelism = DevicesConnectingAtOnce, CancellationToken = cancellationToken },
            async (pair, ct) => await ConnectAsync(pair.connection, pair.device, ct));
        logger.LogInformation("Device fleet started: {Summary}",
            string.Join(", ", Devices.Values.GroupBy(device => device.Behaviour).Select(group => $"{group.Count()} {group.Key}")));
    }

    /// <summary>
    /// Writes the enrollment CSV of the fleet: "deviceId,attestationPublicKey,networkSegment" rows (the key as base64
    /// SubjectPublicKeyInfo) under a header, ready for <c>decom devices enroll</c>.
    /// </summary>
    public async Task WriteAttestationKeysCsvAsync(TextWriter writer, string networkSegment)
    {
        await writer.WriteAsync("deviceId,attestationPublicKey,networkSegment\n");
        foreach (var device in Devices.Values)
            await writer.WriteAsync($"{device.Id},{Convert.ToBase64String(device.AttestationPublicKey)},{networkSegment}\n");
    }

    /// <summary>Disconnects every device; a command being answered stays unacked and waits in its queue for the next start.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (stopping.IsCancellationRequested)
            return;
        await stopping.CancelAsync();
        await Task.WhenAll(comingOnline);
        foreach (var connection in connections.Where(c => c.IsOpen))
            await connection.CloseAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        foreach (var channel in channels)
            channel.Dispose();
        foreach (var connection in connections)
            connection.Dispose();
        foreach (var device in Devices.Values)
            device.Dispose();
        stopping.Dispose();
    }

    private async Task ConnectAsync(IConnection connection, SimulatedDevice device, CancellationToken cancellationToken)
    {
        switch (device.Behaviour)
        {
            case DeviceBehaviour.NeverAnswers:
                break;
            case DeviceBehaviour.OfflineUntil:
                lock (comingOnline)
                    comingOnline.Add(ComeOnlineAsync(connection, device));
                break;
            default:
                // The first attempt is made before the fleet counts as started; a queue not there yet is waited for behind it.
                if (!await TryListenAsync(connection, device, cancellationToken))
                    lock (comingOnline)
                        comingOnline.Add(ListenWhenQueueExistsAsync(connection, device, TimeSpan.Zero));
                break;
        }
    }

    private Task ComeOnlineAsync(IConnection connection, SimulatedDevice device) =>
        ListenWhenQueueExistsAsync(connection, device, device.Spec.OfflineUntil.GetValueOrDefault() - time.GetUtcNow(), announce: true);

    private async Task ListenWhenQueueExistsAsync(IConnection connection, SimulatedDevice device, TimeSpan offlineFor, bool announce = false)
    {
        try
        {
            if (offlineFor > TimeSpan.Zero)
                await Task.Delay(offlineFor, time, stopping.Token);
            for (var wait = QueueRetryFirst; !await TryListenAsync(connection, device, stopping.Token); wait = Min(wait * 2, QueueRetryMax))
                await Task.Delay(wait, time, stopping.Token);
            if (announce)
                logger.LogInformation("Device {DeviceId} came online", device.Id);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "Device {DeviceId} could not come online", device.Id);
        }
    }

    /// <summary>Consumes the device's queue on a channel of its own; false (the channel closed) when the queue does not exist yet.</summary>
    private async Task<bool> TryListenAsync(IConnection connection, SimulatedDevice device, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken: cancellationToken);
        try
        {
            await channel.BasicQosAsync(prefetchSize: 0, prefetchCount: 1, global: false, cancellationToken);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) => AnswerAsync(device, channel, delivery);
            await channel.BasicConsumeAsync(DeviceChannelNames.CommandQueue(device.Id), autoAck: false, consumer, cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.NotFound)
        {
            logger.LogDebug("Device {DeviceId}: no command queue yet (its identity is not registered with the gateway)", device.Id);
            channel.Dispose();
            return false;
        }
        lock (channels)
            channels.Add(channel);
        return true;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private async Task AnswerAsync(SimulatedDevice device, IChannel channel, BasicDeliverEventArgs delivery)
    {
        try
        {
            if (device.Receive(delivery.Body.Span, time.GetUtcNow()) is { } answer)
            {
                if (device.Spec.Delay is { } delay)
                    await Task.Delay(delay, time, stopping.Token);
                await PublishAsync(channel, device.Id, delivery.BasicProperties.MessageId ?? "", answer);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return; // unacked: the command waits in the device's queue for the next start
        }
        catch (PublishReturnException)
        {
            logger.LogError("Device {DeviceId}: no queue is bound to {Exchange}, the receipt went nowhere; a re-sent command gets it again",
                device.Id, DeviceChannelNames.ReceiptExchange);
        }
        catch (Exception e)
        {
            // Acked all the same: the gateway re-sends an unanswered command, and the device answers it from its stored receipt.
            logger.LogError(e, "Device {DeviceId} could not answer a command", device.Id);
        }
        try
        {
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, CancellationToken.None);
        }
        catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException)
        {
            logger.LogWarning("Device {DeviceId} lost its channel before acking; the command will be delivered again", device.Id);
        }
    }

    private async Task PublishAsync(IChannel channel, string deviceId, string answeredCommandId, byte[] answer)
    {
        var properties = new BasicProperties
        {
            ContentType = DeviceChannelNames.ContentType,
            DeliveryMode = DeliveryModes.Persistent,
            Type = SignedMessage.PeekType(answer),
            MessageId = Convert.ToHexStringLower(SHA256.HashData(answer)),
            // The command this answers, even when the body (a replayed receipt) names another: the gateway must catch that.
            CorrelationId = answeredCommandId,
            Timestamp = new AmqpTimestamp(time.GetUtcNow().ToUnixTimeSeconds()),
        };
        await channel.BasicPublishAsync(DeviceChannelNames.ReceiptExchange, deviceId, mandatory: true, properties, answer, stopping.Token);
    }
}
