using System.Buffers;
using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Decommission.DeviceAgent;

/// <summary>
/// One device on the device channel (docs/device-protocol.md, "Transport"): an MQTT 3.1.1 client over TLS whose client
/// certificate is its identity certificate and whose client id is its id, on a persistent session (clean session false)
/// subscribed to its command topic with QoS 1. A command is acknowledged once answered, so one the device was working on
/// when the connection dropped comes again. Dropped, it reconnects with back-off, server after server of its bundle.
/// </summary>
internal sealed class MqttDeviceLink : IAsyncDisposable
{
    private static readonly TimeSpan BackOffFirst = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan BackOffMax = TimeSpan.FromSeconds(15);
    private volatile bool _retired;

    private readonly SimulatedDevice _device;
    private readonly ProvisioningBundle _bundle;
    private readonly X509Certificate2 _clientCertificate;
    private readonly X509Certificate2 _brokerCa;
    private readonly SemaphoreSlim _connecting;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private TaskCompletionSource _dropped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _attempt;

    public MqttDeviceLink(SimulatedDevice device, ProvisioningBundle bundle, X509Certificate2 clientCertificate, SemaphoreSlim connecting,
        TimeProvider time, ILogger logger)
    {
        _device = device;
        _bundle = bundle;
        _clientCertificate = clientCertificate;
        _brokerCa = X509Certificate2.CreateFromPem(bundle.BrokerCaCertificate);
        _connecting = connecting;
        _time = time;
        _logger = logger;
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += e =>
        {
            _dropped.TrySetResult();
            return Task.CompletedTask;
        };
    }

    public bool IsConnected => _client.IsConnected;

    /// <summary>One connect and subscribe; false (logged) when it failed.</summary>
    public async Task<bool> TryConnectAsync(CancellationToken cancellationToken)
    {
        var server = _bundle.Mqtt.Servers[_attempt++ % _bundle.Mqtt.Servers.Count];
        await _connecting.WaitAsync(cancellationToken);
        try
        {
            _dropped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var connected = await _client.ConnectAsync(Options(server), cancellationToken);
            // The broker keeps its session queue, and the commands waiting in it, while it is away.
            _logger.LogDebug("Device {DeviceId} connected to {Server} (session present: {SessionPresent})", _device.Id, server, connected.IsSessionPresent);
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(_bundle.Mqtt.CommandTopic, MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);
            if (_device.TakeAnswerToResend() is { } stored)
            {
                // A receipt signed before the agent restarted, with no verdict on it yet: sent again, byte for byte.
                await PublishAsync(stored);
                _logger.LogInformation("Device {DeviceId} re-sent the receipt it stored before its restart", _device.Id);
            }
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var error = e.GetBaseException().Message;
            if (error.Contains("certificate revoked", StringComparison.OrdinalIgnoreCase))
            {
                // The broker's TLS alert: its identity is on the fleet CRL, which happens only after its wipe was verified.
                // No later attempt can succeed, and each would cost the broker a handshake: it stops for good.
                _retired = true;
                _logger.LogInformation("Device {DeviceId}: the broker refuses its identity certificate as revoked; it stops connecting", _device.Id);
            }
            else
            {
                _logger.LogWarning("Device {DeviceId} could not connect to {Server}: {Error}", _device.Id, server, error);
            }
            _dropped.TrySetResult();
            return false;
        }
        finally
        {
            _connecting.Release();
        }
    }

    /// <summary>Stays connected until <paramref name="stopping"/>: reconnects with back-off whenever the broker drops it.</summary>
    public async Task StayConnectedAsync(bool connected, CancellationToken stopping)
    {
        var wait = BackOffFirst;
        try
        {
            while (!stopping.IsCancellationRequested && !_retired)
            {
                if (connected)
                {
                    wait = BackOffFirst;
                    await _dropped.Task.WaitAsync(stopping);
                    if (_retired)
                        return;
                    _logger.LogWarning("Device {DeviceId} lost its connection; reconnecting", _device.Id);
                }
                // Jittered, so a fleet the broker dropped all at once does not come back all at once.
                await Task.Delay(wait * (0.5 + Random.Shared.NextDouble()), _time, stopping);
                wait = wait * 2 < BackOffMax ? wait * 2 : BackOffMax;
                connected = await TryConnectAsync(stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private MqttClientOptions Options(string server)
    {
        var colon = server.LastIndexOf(':');
        var host = server[..colon].Trim('[', ']');
        return new MqttClientOptionsBuilder()
            .WithTcpServer(host, int.Parse(server[(colon + 1)..], CultureInfo.InvariantCulture))
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithClientId(_bundle.Mqtt.ClientId)
            .WithCleanSession(false)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithTimeout(TimeSpan.FromSeconds(20))
            .WithTlsOptions(tls => tls.UseTls()
                .WithTargetHost(host)
                .WithSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13)
                .WithClientCertificates([_clientCertificate])
                .WithCertificateValidationHandler(e => IssuedByBrokerCa(e.Certificate, e.SslPolicyErrors)))
            .Build();
    }

    /// <summary>The broker's certificate names the host dialled and chains to the bundle's broker CA, and to nothing else.</summary>
    private bool IssuedByBrokerCa(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            return false;
        using var leaf = new X509Certificate2(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_brokerCa);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs received)
    {
        // Acknowledged once answered: a command still unanswered when the connection drops is delivered again.
        received.AutoAcknowledge = false;
        try
        {
            if (_device.Receive(received.ApplicationMessage.Payload.ToArray(), _time.GetUtcNow()) is { } answer)
            {
                if (_device.Spec.Delay is { } delay)
                    await Task.Delay(delay, _time);
                await PublishAsync(answer);
            }
            await received.AcknowledgeAsync(CancellationToken.None);
            if (_device.AttestationKeyDestroyed && !_retired)
            {
                // Its erase was accepted and its key is gone: a retired device has nothing more to say, and the broker has
                // deleted its identity anyway. It leaves for good instead of knocking on the door every few seconds.
                _retired = true;
                _logger.LogInformation("Device {DeviceId} is retired: it disconnects for good", _device.Id);
                _ = Task.Run(async () =>
                {
                    await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build());
                    // Its TLS identity held a copy of the attestation key: it goes with the key.
                    _clientCertificate.Dispose();
                });
            }
        }
        catch (Exception e)
        {
            // Not acknowledged: the broker delivers the command again at the next connection, and the device answers it
            // from its stored receipt.
            _logger.LogWarning("Device {DeviceId} could not answer a message: {Error}", _device.Id, e.GetBaseException().Message);
        }
    }

    private Task PublishAsync(byte[] answer) => _client.PublishAsync(new MqttApplicationMessageBuilder()
        .WithTopic(_bundle.Mqtt.ReceiptTopic)
        .WithPayload(answer)
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
        .Build());

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build());
            }
            catch (Exception e)
            {
                _logger.LogDebug("Device {DeviceId}: disconnect failed: {Error}", _device.Id, e.Message);
            }
        }
        _client.Dispose();
        _clientCertificate.Dispose();
        _brokerCa.Dispose();
    }
}
