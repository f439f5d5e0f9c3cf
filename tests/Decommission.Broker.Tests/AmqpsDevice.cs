using System.Security.Cryptography.X509Certificates;
using System.Text;
using Decommission.DeviceProtocol;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Decommission.Broker.Tests;

/// <summary>
/// A device on the second transport, AMQP over TLS, with raw RabbitMQ.Client: it presents its identity certificate and key
/// (or none) and logs in with EXTERNAL (its certificate's CN is its broker user) or, posing, with PLAIN and a password. The
/// broker's server certificate is checked against the broker CA. Nothing here comes from the services' code.
/// </summary>
public sealed class AmqpsDevice(DeviceBroker broker, DeviceIdentity? identity) : IDisposable
{
    private readonly X509Certificate2? _certificate =
        identity is null ? null : X509Certificate2.CreateFromPemFile(identity.CertificatePath, identity.KeyPath);

    /// <summary>Logged in by its certificate alone.</summary>
    public Task<IConnection> ConnectAsync(string virtualHost = DeviceBroker.VirtualHost) =>
        Factory(virtualHost, [new ExternalMechanismFactory()], "", "").CreateConnectionAsync();

    /// <summary>Its device id as user name and a password, over PLAIN (its certificate still presented, when it has one).</summary>
    public Task<IConnection> ConnectWithPasswordAsync(string userName, string password) =>
        Factory(DeviceBroker.VirtualHost, [new PlainMechanismFactory()], userName, password).CreateConnectionAsync();

    private ConnectionFactory Factory(string virtualHost, IEnumerable<IAuthMechanismFactory> mechanisms, string userName, string password) => new()
    {
        HostName = "127.0.0.1",
        Port = broker.AmqpsPort,
        VirtualHost = virtualHost,
        AuthMechanisms = mechanisms.ToList(),
        UserName = userName,
        Password = password,
        AutomaticRecoveryEnabled = false,
        RequestedConnectionTimeout = TimeSpan.FromSeconds(10),
        ClientProvidedName = "amqps-device-test",
        Ssl = new SslOption
        {
            Enabled = true,
            ServerName = "localhost",
            Certs = _certificate is null ? null : new X509CertificateCollection { _certificate },
            CertificateValidationCallback = (_, certificate, _, _) => broker.IssuedByBrokerCa(certificate),
        },
    };

    /// <summary>
    /// What the gateway does before a device first connects: its session queue as RabbitMQ's MQTT plugin declares it (durable,
    /// not auto-delete, no arguments) bound to its command topic, here by the services' side.
    /// </summary>
    public static async Task PrepareSessionAsync(IChannel services, string deviceId)
    {
        var queue = DeviceTopics.SessionQueue(deviceId);
        await services.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: null);
        await services.QueueBindAsync(queue, "amq.topic", $"devices.{deviceId}.commands");
    }

    /// <summary>Publishes and waits for the broker's confirm (a refused publish closes the channel, asynchronously).</summary>
    public static Task PublishAsync(IChannel channel, string exchange, string routingKey, string body) =>
        channel.BasicPublishAsync(exchange, routingKey, mandatory: false, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(body)).AsTask();

    /// <summary>Runs <paramref name="operation"/> on a fresh confirming channel: the reply code it was refused with, or null when allowed.</summary>
    public static async Task<int?> RefusalAsync(IConnection connection, Func<IChannel, Task> operation)
    {
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        try
        {
            await operation(channel);
            return null;
        }
        catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or PublishException)
        {
            return channel.CloseReason?.ReplyCode ?? (e as OperationInterruptedException)?.ShutdownReason?.ReplyCode ?? 0;
        }
    }

    /// <summary>
    /// Connects and opens a channel: null when both work, else why not. RabbitMQ.Client 7 may hand over a connection before the
    /// broker's answer to connection.open arrives: a refused virtual host then fails the first channel (530 NOT_ALLOWED).
    /// </summary>
    public static async Task<Exception?> RefusalAsync(Func<Task<IConnection>> connect)
    {
        try
        {
            await using var connection = await connect();
            await using var channel = await connection.CreateChannelAsync();
            return null;
        }
        catch (Exception e) when (e is BrokerUnreachableException or OperationInterruptedException or AlreadyClosedException)
        {
            return e;
        }
    }

    /// <summary>The exception and its inner ones, as one line per exception.</summary>
    public static string Describe(Exception? e) => e is null ? "connected" : Chain(e);

    private static string Chain(Exception e) => e.InnerException is { } inner ? $"{e.GetType().Name}: {e.Message}\n{Chain(inner)}" : $"{e.GetType().Name}: {e.Message}";

    /// <summary>The broker's AMQP refusal in the chain, if the exchange got that far (403 a login or operation, 530 a virtual host).</summary>
    public static int? ReplyCode(Exception? e) => e switch
    {
        null => null,
        AuthenticationFailureException => Constants.AccessRefused,
        OperationInterruptedException { ShutdownReason: { } reason } => reason.ReplyCode,
        _ => ReplyCode(e.InnerException),
    };

    public void Dispose() => _certificate?.Dispose();
}
