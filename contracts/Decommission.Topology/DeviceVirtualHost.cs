using Decommission.DeviceProtocol;

namespace Decommission.Topology;

/// <summary>
/// A process's rights in the devices' virtual host, where RabbitMQ's MQTT plugin puts every device topic on amq.topic: the
/// configure, write and read patterns, and the topic permissions on amq.topic that narrow which routing keys it may
/// write (publish) and read (bind). Devices themselves have a broker user each, made at enrollment (ops/broker-devices.sh).
/// </summary>
public sealed record DeviceVhostAccess(string Configure, string Write, string Read, string TopicWrite, string TopicRead);

/// <summary>A user's rights in the devices' virtual host, as ops/broker-users.sh and the compose definitions apply them.</summary>
public sealed record DeviceVhostPermissions(string User, DeviceVhostAccess Access)
{
    /// <summary>The line ops/broker-users.sh reads: user, configure, write, read, topic write, topic read (on amq.topic), tab-separated.</summary>
    public string ToLine() => $"{User}\t{Access.Configure}\t{Access.Write}\t{Access.Read}\t{Access.TopicWrite}\t{Access.TopicRead}";
}

/// <summary>The devices' virtual host: who may do what there, its shared topology, and the policy on the devices' sessions.</summary>
public static class DeviceVirtualHost
{
    public const string Name = DeviceChannelNames.VirtualHost;

    /// <summary>How long an MQTT session nobody uses (no consumer, no redeclaration) lives: longer than any command's expiry.</summary>
    public static readonly TimeSpan SessionExpiry = TimeSpan.FromDays(30);

    /// <summary>The session queues' policy: one message waiting (max-length 1, drop-head: a re-sent copy replaces the older),
    /// and unused sessions expire. A policy, because the MQTT plugin declares the queue without arguments and any the gateway
    /// gave it would make the device's own SUBSCRIBE fail as inequivalent. ops/rabbitmq-node.sh sets the same on its node.</summary>
    public static IReadOnlyDictionary<string, object> SessionPolicy { get; } = new Dictionary<string, object>
    {
        ["max-length"] = 1,
        ["overflow"] = "drop-head",
        ["expires"] = (long)SessionExpiry.TotalMilliseconds,
    };

    /// <summary>
    /// The session policy on a cluster: the same, and mirrored on every node (ha-mode all, synchronised at once). RabbitMQ 3.10's
    /// MQTT plugin declares its session queues as classic queues, and classic mirroring is the only replication 3.10 gives
    /// them: a device's session and the command waiting in it then outlive the node that held them. One policy applies to a
    /// queue, so the keys go in one. ops/rabbitmq-node.sh sets the same on a cluster it starts.
    /// </summary>
    public static IReadOnlyDictionary<string, object> MirroredSessionPolicy { get; } = new Dictionary<string, object>(SessionPolicy)
    {
        ["ha-mode"] = "all",
        ["ha-sync-mode"] = "automatic",
    };

    // Computed: the catalogue's processes refer to Gateway below while they are built.
    public static IReadOnlyList<DeviceVhostPermissions> Users =>
        BusCatalogue.Processes.Where(p => p.DeviceVhost is not null).Select(p => new DeviceVhostPermissions(p.Name, p.DeviceVhost!)).ToList();

    /// <summary>The gateway: makes each device's session queue and binds it to the device's command topic, publishes commands
    /// and verdicts there (and nowhere else: it cannot forge a receipt), and consumes its receipt queue bound to every
    /// device's receipt topic.</summary>
    public static DeviceVhostAccess Gateway { get; } = new(
        Configure: $"^({BusCatalogue.Exact(DeviceChannelNames.ReceiptQueue)}|{SessionQueues})$",
        Write: $"^({BusCatalogue.Exact(DeviceChannelNames.TopicExchange)}|{BusCatalogue.Exact(DeviceChannelNames.ReceiptQueue)}|{SessionQueues})$",
        Read: $"^({BusCatalogue.Exact(DeviceChannelNames.TopicExchange)}|{BusCatalogue.Exact(DeviceChannelNames.ReceiptQueue)})$",
        TopicWrite: @"^devices\.[^.]+\.commands$",
        // Binding checks topic read: the session queues to their command topic, the receipt queue to devices.*.receipts.
        TopicRead: $@"^devices\.([^.]+\.commands|{BusCatalogue.Exact("*")}\.receipts)$");

    /// <summary>Every device's MQTT session queue, as a permission pattern (no anchors).</summary>
    private static string SessionQueues => DeviceChannelNames.SessionQueuePattern.TrimStart('^').TrimEnd('$');
}
