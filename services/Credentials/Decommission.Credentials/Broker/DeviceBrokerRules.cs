using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Decommission.Credentials.Broker;

/// <summary>
/// "Each device alone" at the broker, in one place: what a device's broker identity is. The user is the device id, which
/// is also the CN of its identity certificate (the broker logs devices in by certificate, ssl_cert_login_from =
/// common_name), and it has no password: no password login works for it, over MQTT or AMQP. Its MQTT client id must be
/// its device id too, as its session queues (mqtt-subscription-&lt;client id&gt;qos0|1) are the only queues it may use. On
/// amq.topic (MQTT's exchange; MQTT "/" is "." in its routing keys) it may read only devices.&lt;id&gt;.commands and write
/// only devices.&lt;id&gt;.receipts and devices.&lt;id&gt;.telemetry; quarantined, only its receipts. Topic permissions expand
/// {username}, never {client_id}, which a device chooses itself.
/// </summary>
public static partial class DeviceBrokerRules
{
    public const string Exchange = "amq.topic";

    /// <summary>Topic permissions on amq.topic (regular expressions; RabbitMQ expands {username}).</summary>
    public const string TopicRead = @"^devices\.{username}\.commands$";

    public const string TopicWrite = @"^devices\.{username}\.(receipts|telemetry)$";

    /// <summary>In quarantine only the decommission topics are left: its commands (read) and its receipts.</summary>
    public const string TopicWriteQuarantined = @"^devices\.{username}\.receipts$";

    /// <summary>
    /// Device ids become user names, queue names, routing-key words and (through {username}) regular expressions, and are
    /// the CN of a certificate (at most 64 characters, X.520): nothing but letters, digits, - and _.
    /// </summary>
    public static bool IsValidDeviceId(string deviceId) => ValidDeviceId().IsMatch(deviceId);

    public const string DeviceIdRule = "1-64 letters, digits, '-' or '_' (a device's broker user, MQTT client id and topic word)";

    /// <summary>The device's MQTT session queues, one per QoS of its subscriptions (RabbitMQ 3.x).</summary>
    public static IEnumerable<string> SessionQueues(string deviceId) => [$"mqtt-subscription-{deviceId}qos0", $"mqtt-subscription-{deviceId}qos1"];

    /// <summary>The devices' users and permissions as RabbitMQ definitions (what POST /api/definitions and rabbitmqctl import_definitions take).</summary>
    public static JsonObject Definitions(string virtualHost, IEnumerable<string> deviceIds, bool quarantined = false)
    {
        var users = new JsonArray();
        var permissions = new JsonArray();
        var topicPermissions = new JsonArray();
        foreach (var id in deviceIds)
        {
            if (!IsValidDeviceId(id))
                throw new ArgumentException($"'{id}' cannot be a device's broker identity: {DeviceIdRule}", nameof(deviceIds));
            // An empty hash: the user has no password at all.
            users.Add(new JsonObject { ["name"] = id, ["password_hash"] = "", ["hashing_algorithm"] = "rabbit_password_hashing_sha256", ["tags"] = new JsonArray() });
            // Vhost permissions do not expand variables: they name the device's own session queues. Write and read on
            // amq.topic are needed to publish and to bind its session queue; the topic permissions narrow them to its topics.
            var session = $"mqtt-subscription-{id}qos[01]";
            permissions.Add(new JsonObject
            {
                ["user"] = id, ["vhost"] = virtualHost,
                ["configure"] = $"^{session}$",
                ["write"] = $@"^(amq\.topic|{session})$",
                ["read"] = $@"^(amq\.topic|{session})$",
            });
            topicPermissions.Add(new JsonObject
            {
                ["user"] = id, ["vhost"] = virtualHost, ["exchange"] = Exchange,
                ["write"] = quarantined ? TopicWriteQuarantined : TopicWrite,
                ["read"] = TopicRead,
            });
        }
        return new JsonObject { ["users"] = users, ["permissions"] = permissions, ["topic_permissions"] = topicPermissions };
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex ValidDeviceId();
}
