using System.Net.Sockets;
using Decommission.ServiceDefaults;
using MassTransit;
using RabbitMQ.Client.Exceptions;

namespace Decommission.Cli;

/// <summary>
/// decom's own bus: no consumers, only the temporary endpoint its request clients are answered on. It connects when a
/// command needs it and fails fast, with one line naming the broker, when the broker cannot be reached.
/// </summary>
public sealed class Broker : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly IBusControl _bus;
    private readonly CliSettings _settings;

    private Broker(IBusControl bus, CliSettings settings)
    {
        _bus = bus;
        _settings = settings;
    }

    public static async Task<Broker> ConnectAsync(CliSettings settings, CancellationToken cancellationToken)
    {
        // On a cluster, the nodes that accept a TCP connection go first: MassTransit tries one node per connection attempt,
        // with a pause between attempts, so a lost first node cost each decom command about ten seconds.
        var nodes = await ReachableFirstAsync(settings.BrokerNodes ?? [], cancellationToken);
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(settings.Broker, host =>
            {
                host.RequestedConnectionTimeout(ConnectTimeout);
                host.ConnectionName("decom");
                BrokerTls.Configure(host, settings.Broker, settings.BrokerCa);
                MessageBusExtensions.UseCluster(host, nodes);
            });
            // The services believe a request only from a broker user allowed to send it: the broker vouches for this user-id.
            cfg.StampSender(SenderVerification.UserOf(settings.Broker));
            cfg.OverrideDefaultBusEndpointQueueName(SenderVerification.BusEndpointName(SenderVerification.UserOf(settings.Broker)));
        });

        // MassTransit keeps retrying a refused connection until start-up is cancelled; the first fault is the answer — on a
        // cluster, once every node has refused (each attempt tries the next node).
        var firstFault = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watch = bus.ConnectReceiveEndpointObserver(new FirstFault(firstFault, Math.Max(1, settings.BrokerNodes?.Count ?? 0)));
        using var startup = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        startup.CancelAfter(StartTimeout);
        var started = bus.StartAsync(startup.Token);
        _ = started.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        try
        {
            if (await Task.WhenAny(started, firstFault.Task) == firstFault.Task)
                throw await firstFault.Task;
            await started;
            return new Broker(bus, settings);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            await startup.CancelAsync();
            await StopQuietly(bus);
            throw new CliFailure(ExitCodes.Unreachable, $"cannot reach the broker at {CliSettings.Display(settings.Broker)} ({Describe(e)})");
        }
        catch
        {
            await StopQuietly(bus);
            throw;
        }
    }

    /// <summary>The nodes (host:port) in their order, those that accept a TCP connection within a second first.</summary>
    public static async Task<IReadOnlyList<string>> ReachableFirstAsync(IReadOnlyList<string> nodes, CancellationToken cancellationToken)
    {
        if (nodes.Count < 2)
            return nodes;
        var reachable = await Task.WhenAll(nodes.Select(async node =>
        {
            var colon = node.LastIndexOf(':');
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            probe.CancelAfter(TimeSpan.FromSeconds(1));
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(node[..colon].Trim('[', ']'), int.Parse(node[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture),
                    probe.Token);
                return true;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }));
        return nodes.Where((_, i) => reachable[i]).Concat(nodes.Where((_, i) => !reachable[i])).ToList();
    }

    /// <summary>
    /// A client for a request the service behind <paramref name="queue"/> takes. It is sent to the request type's own
    /// exchange, which the broker's set-up binds to that queue: the operator's user may write only its own requests' exchanges,
    /// and holds no right on the services' queues. Answers come to this bus's temporary endpoint.
    /// </summary>
    public IRequestClient<T> Client<T>(string queue) where T : class =>
        _bus.CreateRequestClient<T>(TypeExchange.Of<T>(_bus), RequestTimeout.After(ms: (int)_settings.Timeout.TotalMilliseconds));

    public Task<TResponse> Request<TRequest, TResponse>(string queue, TRequest message, CancellationToken cancellationToken)
        where TRequest : class where TResponse : class =>
        Request<TRequest, TResponse>(queue, message, NewId.NextGuid(), cancellationToken);

    /// <summary>A request sent with the message id decom chose, so that an answer can be told to be about this very request.</summary>
    public Task<TResponse> Request<TRequest, TResponse>(string queue, TRequest message, Guid messageId, CancellationToken cancellationToken)
        where TRequest : class where TResponse : class =>
        Answered(queue, async () => (await Client<TRequest>(queue).GetResponse<TResponse>(message, WithMessageId<TRequest>(messageId), cancellationToken)).Message);

    /// <summary>
    /// Gives a request the message id decom chose. The orchestrator takes a RetireDevice's message id as the retirement's id,
    /// so an answer to a redelivery of decom's own request (AlreadyActive, with that id) is known for what it is.
    /// </summary>
    public static RequestPipeConfiguratorCallback<T> WithMessageId<T>(Guid messageId) where T : class =>
        request => request.UseExecute(context => context.MessageId = messageId);

    public Task<Response<T1, T2>> Request<TRequest, T1, T2>(string queue, TRequest message, CancellationToken cancellationToken)
        where TRequest : class where T1 : class where T2 : class =>
        Answered(queue, () => Client<TRequest>(queue).GetResponse<T1, T2>(message, WithMessageId<TRequest>(NewId.NextGuid()), cancellationToken));

    public Task<Response<T1, T2, T3>> Request<TRequest, T1, T2, T3>(string queue, TRequest message, CancellationToken cancellationToken)
        where TRequest : class where T1 : class where T2 : class where T3 : class =>
        Answered(queue, () => Client<TRequest>(queue).GetResponse<T1, T2, T3>(message, WithMessageId<TRequest>(NewId.NextGuid()), cancellationToken));

    /// <summary>Turns a request's failures into the operator's terms: no answer in time, a refusal, a lost broker.</summary>
    public async Task<T> Answered<T>(string queue, Func<Task<T>> request)
    {
        try
        {
            return await request();
        }
        catch (RequestTimeoutException)
        {
            throw new CliFailure(ExitCodes.NoAnswer,
                $"no answer from {ServiceOf(queue)} (queue {queue}) within {_settings.Timeout.TotalSeconds:0}s; is it running?");
        }
        catch (RequestFaultException e)
        {
            var reason = e.Fault?.Exceptions.FirstOrDefault()?.Message ?? e.Message;
            throw new CliFailure(ExitCodes.Failed, $"{ServiceOf(queue)} could not handle the request: {OneLine(reason)}");
        }
        catch (Exception e) when (e is RabbitMqConnectionException or BrokerUnreachableException or AlreadyClosedException)
        {
            throw new CliFailure(ExitCodes.Unreachable, $"lost the broker at {CliSettings.Display(_settings.Broker)} ({Describe(e)})");
        }
    }

    public async ValueTask DisposeAsync() => await StopQuietly(_bus);

    private static string ServiceOf(string queue) => queue switch
    {
        Contracts.QueueNames.RetireDevice or Contracts.QueueNames.RetirementStatus => "the orchestrator",
        Contracts.QueueNames.Inventory => "the inventory service",
        _ => "the service",
    };

    private static async Task StopQuietly(IBusControl bus)
    {
        try
        {
            using var stop = new CancellationTokenSource(StopTimeout);
            await bus.StopAsync(stop.Token);
        }
        catch (Exception)
        {
            // Stopping a bus that never connected can fail too; the operator has already been told what matters.
        }
    }

    /// <summary>Why a connection failed, in a few words and never with the address's password.</summary>
    internal static string Describe(Exception failure)
    {
        for (var e = failure; e is not null; e = e.InnerException ?? (e as AggregateException)?.InnerExceptions.FirstOrDefault())
        {
            switch (e)
            {
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return "connection refused";
                case SocketException { SocketErrorCode: SocketError.TimedOut }:
                    return "connection timed out";
                case SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData }:
                    return "host not found";
                case SocketException socket:
                    return socket.SocketErrorCode.ToString();
                case AuthenticationFailureException:
                    return "the user name or password was refused";
                case OperationInterruptedException { ShutdownReason.ReplyCode: 530 }:
                    return "the virtual host does not exist or this user may not use it";
                case OperationInterruptedException { ShutdownReason.ReplyCode: 403 }:
                    return "access refused";
                case TimeoutException or OperationCanceledException:
                    return $"no connection within {StartTimeout.TotalSeconds:0}s";
            }
        }
        return OneLine(Innermost(failure).Message);
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();

    private sealed class FirstFault(TaskCompletionSource<Exception> fault, int faultsToGiveUp) : IReceiveEndpointObserver
    {
        private int _faults;

        public Task Ready(ReceiveEndpointReady ready) => Task.CompletedTask;
        public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;
        public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

        public Task Faulted(ReceiveEndpointFaulted faulted)
        {
            if (Interlocked.Increment(ref _faults) < faultsToGiveUp)
                return Task.CompletedTask;
            fault.TrySetResult(faulted.Exception ?? new InvalidOperationException("the connection failed"));
            return Task.CompletedTask;
        }
    }
}
