using System.Globalization;
using RabbitMQ.Client;

namespace Decommission.ServiceDefaults;

/// <summary>
/// The broker as a cluster; bound from the "Broker" section. Every AMQP client of a service (its bus, the gateway's device
/// channel) connects to the first node it can reach of <see cref="Nodes"/> and, when that node goes, to another; the user,
/// password, virtual host and TLS settings stay those of its own URI. Empty: the URI's host alone (a single node).
/// </summary>
public sealed class BrokerClusterOptions
{
    public const string Section = "Broker";

    /// <summary>Every node's AMQP (or AMQPS) endpoint, <c>host:port</c>, comma-separated, e.g.
    /// <c>rabbit-1:5671,rabbit-2:5671,rabbit-3:5671</c> (one string: a compose file or a shell sets it in one variable).</summary>
    public string? Nodes { get; set; }

    /// <summary>
    /// True (a cluster): every queue the services consume is a quorum queue, replicated on the cluster's nodes
    /// (x-queue-type quorum, as the broker's set-up declares them: ops/up.sh --cluster, definitions-cluster.json), and so are
    /// the _error and _skipped queues MassTransit derives from them. False: classic queues, as on a single node.
    /// </summary>
    public bool QuorumQueues { get; set; }

    /// <summary>The nodes as <c>host:port</c> strings; empty when none are configured.</summary>
    public IReadOnlyList<string> NodeList => ParseNodes(Nodes);

    public static IReadOnlyList<string> ParseNodes(string? nodes) =>
        string.IsNullOrWhiteSpace(nodes)
            ? []
            : nodes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Validated).ToList();

    /// <summary>
    /// The endpoints a RabbitMQ.Client connection tries, in order: every node, with the TLS settings <paramref name="factory"/>
    /// took from its URI (protocols, the certificate check), the certificate checked for the node's own name; the URI's own
    /// endpoint when no nodes are configured.
    /// </summary>
    public static IList<AmqpTcpEndpoint> Endpoints(ConnectionFactory factory, IReadOnlyList<string> nodes)
    {
        if (nodes.Count == 0)
            return [factory.Endpoint];
        return nodes.Select(node =>
        {
            var (host, port) = Split(node);
            return new AmqpTcpEndpoint(host, port, new SslOption
            {
                Enabled = factory.Ssl.Enabled,
                ServerName = host,
                Version = factory.Ssl.Version,
                CertificateValidationCallback = factory.Ssl.CertificateValidationCallback,
                AcceptablePolicyErrors = factory.Ssl.AcceptablePolicyErrors,
                CheckCertificateRevocation = factory.Ssl.CheckCertificateRevocation,
            });
        }).ToList();
    }

    public static (string Host, int Port) Split(string node)
    {
        var colon = node.LastIndexOf(':');
        return (node[..colon].Trim('[', ']'), int.Parse(node[(colon + 1)..], CultureInfo.InvariantCulture));
    }

    private static string Validated(string node)
    {
        var colon = node.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(node[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new FormatException($"Broker:Nodes: '{node}' is not host:port.");
        return node;
    }
}
