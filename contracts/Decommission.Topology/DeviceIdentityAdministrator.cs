namespace Decommission.Topology;

/// <summary>
/// The one privileged broker credential: the credentials service's user of the management HTTP API, with which it makes
/// each enrolled device's broker user (no password; its certificate's CN), narrows it at quarantine and deletes it with its
/// session queues at revocation. RabbitMQ lets only the administrator tag manage users, so this user can do anything on
/// the broker; it is nobody else's, and it has no right in the services' virtual host. In the devices' virtual host it
/// may only delete devices' MQTT session queues (DELETE /api/queues needs configure on the queue).
/// </summary>
public static class DeviceIdentityAdministrator
{
    public const string Name = "credentials-devices";

    public const string Tag = "administrator";

    /// <summary>The devices' virtual host (the MQTT plugin's mqtt.vhost).</summary>
    public const string VirtualHost = DeviceVirtualHost.Name;

    public static UserPermissions Permissions { get; } = new(Name, @"^mqtt-subscription-.*qos[01]$", "^$", "^$");

    /// <summary>The line ops/broker-users.sh reads: user, tag, virtual host, configure, write, read, tab-separated.</summary>
    public static string ToLine() => $"{Name}\t{Tag}\t{VirtualHost}\t{Permissions.Configure}\t{Permissions.Write}\t{Permissions.Read}";
}
