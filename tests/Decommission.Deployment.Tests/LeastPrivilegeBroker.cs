using System.Text;
using Decommission.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Decommission.Deployment.Tests;

/// <summary>
/// The node ops/test.sh starts, set up exactly as ops/up.sh sets up its own (ops/broker-users.sh: every catalogue user with
/// its permissions, the shared topology declared by an administrator) in this assembly's virtual host; the compose
/// definitions (ops/rabbitmq/definitions.json) are imported into "/" first, as the compose broker does. Tests then act as
/// each user with nothing but RabbitMQ.Client: what the broker lets through is what a leaked credential allows.
/// </summary>
public sealed class LeastPrivilegeBroker : IAsyncLifetime
{
    private readonly Dictionary<string, string> _passwords = [];

    public Uri AdminUri { get; } = RabbitMqNode.Uri;

    public string VirtualHost => Uri.UnescapeDataString(AdminUri.AbsolutePath.TrimStart('/'));

    public async Task InitializeAsync()
    {
        var output = await OpsScripts.RunOnNodeAsync("""
            . ops/broker-users.sh
            # What compose loads, into "/": it must import as it is (users, permissions, topology).
            rmq_ctl import_definitions "$PWD/ops/rabbitmq/definitions.json" >&2
            broker_setup "$1" "$2"
            for user in "${!PASSWORD[@]}"; do echo "$user ${PASSWORD[$user]}"; done
            """, [VirtualHost, AdminUri.ToString()], new Dictionary<string, string>
        {
            ["DECOM_TOPOLOGY_DLL"] = Path.Combine(Repository.Root, "contracts", "Decommission.Topology", "bin",
                Repository.BuildMetadata("Configuration"), Repository.BuildMetadata("TargetFramework"), "Decommission.Topology.dll"),
        });
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var (user, password) = line.Split(' ') is [var u, var p] ? (u, p) : throw new InvalidOperationException($"unexpected line: {line}");
            _passwords[user] = password;
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>A connection as <paramref name="user"/>, with the password ops/broker-users.sh gave it.</summary>
    public async Task<IConnection> ConnectAsync(string user)
    {
        var uri = new UriBuilder(AdminUri) { UserName = user, Password = _passwords[user] }.Uri;
        return await new ConnectionFactory { Uri = uri, ClientProvidedName = $"attacker-as-{user}" }.CreateConnectionAsync();
    }

    /// <summary>What the broker says to one operation on a fresh channel (with publisher confirms): 200, or the code it closed the channel with.</summary>
    public static async Task<int> AttemptAsync(IConnection connection, Func<IChannel, Task> operation)
    {
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        try
        {
            await operation(channel);
            return Constants.ReplySuccess;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason is { } reason)
        {
            return reason.ReplyCode;
        }
        catch (PublishException)
        {
            // Confirmed negatively or returned: the broker let the publish in.
            return Constants.ReplySuccess;
        }
    }

    public static Task<int> PublishAsync(IConnection connection, string exchange, string routingKey = "") =>
        AttemptAsync(connection, channel => channel.BasicPublishAsync(exchange, routingKey, Encoding.UTF8.GetBytes("{ \"probe\": true }")).AsTask());
}

[CollectionDefinition(Name)]
public sealed class LeastPrivilegeBrokerCollection : ICollectionFixture<LeastPrivilegeBroker>
{
    public const string Name = "least-privilege broker";
}
