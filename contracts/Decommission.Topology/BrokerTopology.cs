using Decommission.DeviceProtocol;
using RabbitMQ.Client;

namespace Decommission.Topology;

public sealed record ExchangeDeclaration(string Name, string Type);

public sealed record QueueDeclaration(string Name);

/// <summary>A binding from exchange <paramref name="Source"/> to queue <paramref name="Queue"/>.</summary>
public sealed record BindingDeclaration(string Source, string Queue);

/// <summary>
/// The shared topology, declared once with an administrator's connection before any service starts (ops/up.sh, the
/// compose definitions): each consumed queue with its exchange, as MassTransit lays it out (fanout, durable, no
/// arguments, so the consumer's own redeclaration matches), the exchange of every published type bound to each queue
/// that takes it (to the queue itself). A user then needs no right on what it does not own. The device channel lives in the devices'
/// virtual host (<see cref="DeviceVirtualHost"/>). On a cluster every queue is a quorum queue (<see cref="QueueArguments"/>), as the
/// services then declare theirs (Broker:QuorumQueues).
/// </summary>
public static class BrokerTopology
{
    public static IReadOnlyList<ExchangeDeclaration> Exchanges { get; } = BuildExchanges();

    public static IReadOnlyList<QueueDeclaration> Queues { get; } =
        BusCatalogue.Processes.SelectMany(p => p.Consumes).Select(q => new QueueDeclaration(q.Name)).ToList();

    public static IReadOnlyList<BindingDeclaration> Bindings { get; } = BuildBindings();

    private static List<ExchangeDeclaration> BuildExchanges()
    {
        var endpoints = BusCatalogue.Processes.SelectMany(p => p.Consumes).Select(q => new ExchangeDeclaration(q.Name, ExchangeType.Fanout));
        var published = BusCatalogue.MessageTypes.Where(BusCatalogue.TravelsByTypeExchange).Select(m => new ExchangeDeclaration(m.ExchangeName, ExchangeType.Fanout));
        return [.. endpoints, .. published];
    }

    private static List<BindingDeclaration> BuildBindings()
    {
        var bindings = new List<BindingDeclaration>();
        foreach (var queue in BusCatalogue.Processes.SelectMany(p => p.Consumes))
        {
            bindings.Add(new BindingDeclaration(queue.Name, queue.Name));
            // Only types written to their own exchange (a command sent to queue: reaches its queue through the queue's
            // exchange), and to the queue itself, not to its exchange as MassTransit would: a sender may read that exchange
            // (it binds it on sending) and must not be able to bind a queue of its own there and get a copy of every event.
            bindings.AddRange(queue.Messages.Where(BusCatalogue.TravelsByTypeExchange)
                .Select(m => new BindingDeclaration(m.ExchangeName, queue.Name)));
        }
        return bindings;
    }

    /// <summary>The arguments of every queue: none on a single node (classic), <c>x-queue-type: quorum</c> on a cluster (replicated
    /// on a majority of its nodes: a queue, and what waits in it, survives the loss of a node).</summary>
    public static IDictionary<string, object?> QueueArguments(bool quorum) =>
        quorum ? new Dictionary<string, object?> { [Headers.XQueueType] = "quorum" } : new Dictionary<string, object?>();

    /// <summary>Declares all of it on the broker (and virtual host) of <paramref name="adminUri"/>, with quorum queues when
    /// <paramref name="quorum"/>; redeclaring is harmless.</summary>
    public static async Task DeclareAsync(Uri adminUri, bool quorum = false, CancellationToken cancellationToken = default)
    {
        var factory = new ConnectionFactory { Uri = adminUri, ClientProvidedName = "decommission-topology" };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        foreach (var exchange in Exchanges)
            await channel.ExchangeDeclareAsync(exchange.Name, exchange.Type, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        foreach (var queue in Queues)
            await channel.QueueDeclareAsync(queue.Name, durable: true, exclusive: false, autoDelete: false, QueueArguments(quorum),
                cancellationToken: cancellationToken);
        foreach (var binding in Bindings)
            await channel.QueueBindAsync(binding.Queue, binding.Source, "", cancellationToken: cancellationToken);
    }
}
