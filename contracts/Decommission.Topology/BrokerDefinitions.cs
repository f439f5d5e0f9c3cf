using System.Text.Json;

namespace Decommission.Topology;

/// <summary>
/// RabbitMQ definitions (the format <c>rabbitmqctl import_definitions</c> and the management plugin read) of every
/// catalogue user with its permissions and the shared topology, for virtual host "/". The users carry no password:
/// each is set at deploy time (docs/deployment.md); a user whose password was never set cannot log in. Beside them, the
/// devices' virtual host and the credentials service's management user (<see cref="DeviceIdentityAdministrator"/>).
/// Committed as ops/rabbitmq/definitions.json, which docker-compose.yml loads; a test keeps it equal to this.
/// </summary>
public static class BrokerDefinitions
{
    public const string RelativePath = "ops/rabbitmq/definitions.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Json(string virtualHost = "/")
    {
        var empty = new Dictionary<string, object>();
        var definitions = new
        {
            users = BusCatalogue.Processes.Select(p => new { name = p.Name, tags = Array.Empty<string>() })
                .Append(new { name = DeviceIdentityAdministrator.Name, tags = new[] { DeviceIdentityAdministrator.Tag } }),
            vhosts = new[] { new { name = virtualHost }, new { name = DeviceIdentityAdministrator.VirtualHost } },
            permissions = BrokerPermissions.All.Select(p => new { user = p.User, vhost = virtualHost, configure = p.Configure, write = p.Write, read = p.Read })
                .Append(new
                {
                    user = DeviceIdentityAdministrator.Name, vhost = DeviceIdentityAdministrator.VirtualHost,
                    configure = DeviceIdentityAdministrator.Permissions.Configure, write = DeviceIdentityAdministrator.Permissions.Write,
                    read = DeviceIdentityAdministrator.Permissions.Read,
                }),
            exchanges = BrokerTopology.Exchanges.Select(e => new
            {
                name = e.Name, vhost = virtualHost, type = e.Type, durable = true, auto_delete = false, @internal = false, arguments = empty,
            }),
            queues = BrokerTopology.Queues.Select(q => new { name = q.Name, vhost = virtualHost, durable = true, auto_delete = false, arguments = empty }),
            bindings = BrokerTopology.Bindings.Select(b => new
            {
                source = b.Source, vhost = virtualHost, destination = b.Queue, destination_type = "queue",
                routing_key = "", arguments = empty,
            }),
        };
        return JsonSerializer.Serialize(definitions, Indented) + "\n";
    }
}
