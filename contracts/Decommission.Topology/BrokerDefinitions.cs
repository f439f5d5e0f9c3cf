using System.Text.Json;
using Decommission.DeviceProtocol;

namespace Decommission.Topology;

/// <summary>
/// RabbitMQ definitions (the format <c>rabbitmqctl import_definitions</c> and the management plugin read) of every
/// catalogue user with its permissions and the shared topology, for virtual host "/", and the devices' virtual host: the
/// users' rights and topic permissions there, the gateway's receipt queue, the policy on the devices' sessions and the
/// credentials service's management user (<see cref="DeviceIdentityAdministrator"/>). The users carry no password:
/// each is set at deploy time (docs/deployment.md); a user whose password was never set cannot log in.
/// Committed as ops/rabbitmq/definitions.json, which docker-compose.yml loads; a test keeps it equal to this. A cluster's
/// (docker-compose.yml's profile cluster, ops/rabbitmq/definitions-cluster.json) has quorum queues, the gateway's receipt queue
/// included, and the devices' sessions mirrored on every node.
/// </summary>
public static class BrokerDefinitions
{
    public const string RelativePath = "ops/rabbitmq/definitions.json";

    public const string ClusterRelativePath = "ops/rabbitmq/definitions-cluster.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Json(string virtualHost = "/", bool cluster = false)
    {
        var empty = new Dictionary<string, object>();
        var queueArguments = BrokerTopology.QueueArguments(cluster);
        var definitions = new
        {
            users = BusCatalogue.Processes.Select(p => new { name = p.Name, tags = Array.Empty<string>() })
                .Append(new { name = DeviceIdentityAdministrator.Name, tags = new[] { DeviceIdentityAdministrator.Tag } }),
            vhosts = new[] { new { name = virtualHost }, new { name = DeviceVirtualHost.Name } },
            permissions = BrokerPermissions.All.Select(p => new { user = p.User, vhost = virtualHost, configure = p.Configure, write = p.Write, read = p.Read })
                .Concat(DeviceVirtualHost.Users.Select(u => new { user = u.User, vhost = DeviceVirtualHost.Name, configure = u.Access.Configure, write = u.Access.Write, read = u.Access.Read }))
                .Append(new
                {
                    user = DeviceIdentityAdministrator.Name, vhost = DeviceIdentityAdministrator.VirtualHost,
                    configure = DeviceIdentityAdministrator.Permissions.Configure, write = DeviceIdentityAdministrator.Permissions.Write,
                    read = DeviceIdentityAdministrator.Permissions.Read,
                }),
            topic_permissions = DeviceVirtualHost.Users.Select(u => new
            {
                user = u.User, vhost = DeviceVirtualHost.Name, exchange = DeviceChannelNames.TopicExchange, write = u.Access.TopicWrite, read = u.Access.TopicRead,
            }),
            policies = new[]
            {
                // "apply-to" is no C# name.
                new Dictionary<string, object>
                {
                    ["vhost"] = DeviceVirtualHost.Name, ["name"] = DeviceChannelNames.SessionPolicy, ["pattern"] = DeviceChannelNames.SessionQueuePattern,
                    ["apply-to"] = "queues", ["definition"] = cluster ? DeviceVirtualHost.MirroredSessionPolicy : DeviceVirtualHost.SessionPolicy,
                    ["priority"] = 0,
                },
            },
            exchanges = BrokerTopology.Exchanges.Select(e => new
            {
                name = e.Name, vhost = virtualHost, type = e.Type, durable = true, auto_delete = false, @internal = false, arguments = empty,
            }),
            queues = BrokerTopology.Queues.Select(q => new { name = q.Name, vhost = virtualHost, durable = true, auto_delete = false, arguments = queueArguments })
                .Append(new { name = DeviceChannelNames.ReceiptQueue, vhost = DeviceVirtualHost.Name, durable = true, auto_delete = false, arguments = queueArguments }),
            bindings = BrokerTopology.Bindings.Select(b => new
            {
                source = b.Source, vhost = virtualHost, destination = b.Queue, destination_type = "queue",
                routing_key = "", arguments = empty,
            }).Append(new
            {
                source = DeviceChannelNames.TopicExchange, vhost = DeviceVirtualHost.Name, destination = DeviceChannelNames.ReceiptQueue,
                destination_type = "queue", routing_key = DeviceChannelNames.ReceiptBindingKey, arguments = empty,
            }),
        };
        return JsonSerializer.Serialize(definitions, Indented) + "\n";
    }
}
