using System.Text;
using Decommission.Contracts;
using Decommission.DeviceProtocol;
using Decommission.Topology;
using RabbitMQ.Client;

namespace Decommission.Deployment.Tests;

/// <summary>
/// Least privilege on the real broker: every broker user of the catalogue, with the permissions and topology ops/up.sh
/// gives it, tries what a leaked credential would try — with raw RabbitMQ.Client, never our MassTransit code.
/// </summary>
[Collection(LeastPrivilegeBrokerCollection.Name)]
public sealed class BrokerPermissionTests(LeastPrivilegeBroker broker)
{
    private const int AccessRefused = Constants.AccessRefused;

    [Fact]
    public async Task Who_can_deliver_each_message_type_is_what_the_catalogue_says()
    {
        var expected = new List<string>();
        var measured = new List<string>();
        foreach (var user in BusCatalogue.Processes)
        {
            await using var connection = await broker.ConnectAsync(user.Name);
            foreach (var message in BusCatalogue.MessageTypes)
            {
                // Publish: to the type's exchange, which the set-up declared for every published type.
                var publishes = user.TypeExchanges.Contains(message);
                var published = await LeastPrivilegeBroker.PublishAsync(connection, message.ExchangeName) != AccessRefused;
                expected.Add($"{user} publish {message}: {publishes}");
                measured.Add($"{user} publish {message}: {published}");

                // Send: through the exchange of each queue that takes it. A user that writes to a queue for one message
                // type can put any type there: the broker routes bytes, and the catalogue says which queues it writes to.
                foreach (var (_, queue) in BusCatalogue.QueuesTaking(message))
                {
                    var writes = user.QueuesSentTo.Contains(queue.Name) || user.Consumes.Any(q => q.Name == queue.Name);
                    var sent = await LeastPrivilegeBroker.PublishAsync(connection, queue.Name) != AccessRefused;
                    expected.Add($"{user} send {message} to {queue.Name}: {writes}");
                    measured.Add($"{user} send {message} to {queue.Name}: {sent}");
                }
            }
        }

        var differences = expected.Zip(measured).Where(p => p.First != p.Second).Select(p => $"catalogue {p.First}, broker {p.Second}").ToList();
        Assert.True(differences.Count == 0, string.Join("\n", differences));
        Assert.Contains(measured, m => m.EndsWith(": True", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(nameof(ErasureVerified))]
    [InlineData(nameof(IssueDisposalCertificate))]
    [InlineData(nameof(EraseDevice))]
    [InlineData(nameof(RegisterDeviceIdentities))]
    [InlineData(nameof(QuarantineDevice))]
    [InlineData(nameof(RevokeIdentity))]
    [InlineData(nameof(DeviceQuarantined))]
    [InlineData(nameof(RecordPhysicalDestruction))]
    public async Task The_operator_cannot_publish_a_workflow_message(string type)
    {
        await using var connection = await broker.ConnectAsync(BusCatalogue.Operator.Name);
        var message = BusCatalogue.MessageTypes.Single(m => m.Name == type);

        Assert.Equal(AccessRefused, await LeastPrivilegeBroker.PublishAsync(connection, message.ExchangeName));
        // Nor send it to the queue of the service that acts on it (the saga's queue is the operator's too: see below).
        foreach (var (consumer, queue) in BusCatalogue.QueuesTaking(message).Where(q => q.Queue.Name != QueueNames.RetireDevice))
            Assert.True(await LeastPrivilegeBroker.PublishAsync(connection, queue.Name) == AccessRefused, $"{type} reached {consumer}'s {queue.Name}");
    }

    [Fact]
    public async Task The_operator_can_still_send_what_it_may()
    {
        await using var connection = await broker.ConnectAsync(BusCatalogue.Operator.Name);
        foreach (var queue in BusCatalogue.Operator.QueuesSentTo)
            Assert.Equal(Constants.ReplySuccess, await LeastPrivilegeBroker.PublishAsync(connection, queue));
    }

    [Fact]
    public async Task The_operator_cannot_delete_an_event_exchange()
    {
        await using var connection = await broker.ConnectAsync(BusCatalogue.Operator.Name);
        // Only the exchanges of its own requests are its to make (MassTransit declares them before it sends); every event's
        // and every other sender's exchange is not.
        var own = BusCatalogue.Operator.TypeExchanges.ToHashSet();
        var others = BusCatalogue.MessageTypes.Where(BusCatalogue.TravelsByTypeExchange).Where(m => !own.Contains(m)).ToList();
        Assert.NotEmpty(others);
        foreach (var message in others)
            Assert.True(await LeastPrivilegeBroker.AttemptAsync(connection, c => c.ExchangeDeleteAsync(message.ExchangeName)) == AccessRefused,
                $"the operator deleted {message.ExchangeName}");
    }

    [Fact]
    public async Task The_operator_cannot_purge_or_consume_a_service_queue_it_does_not_send_to()
    {
        await using var connection = await broker.ConnectAsync(BusCatalogue.Operator.Name);
        var sendsTo = BusCatalogue.Operator.QueuesSentTo.ToHashSet();
        var queues = BrokerTopology.Queues.Select(q => q.Name).Where(q => !sendsTo.Contains(q)).ToList();
        Assert.NotEmpty(queues);
        foreach (var queue in queues)
        {
            Assert.True(await LeastPrivilegeBroker.AttemptAsync(connection, c => c.QueuePurgeAsync(queue)) == AccessRefused, $"purged {queue}");
            Assert.True(await LeastPrivilegeBroker.AttemptAsync(connection, c => c.BasicGetAsync(queue, autoAck: true)) == AccessRefused, $"read {queue}");
            Assert.True(await LeastPrivilegeBroker.AttemptAsync(connection, c => c.QueueDeleteAsync(queue)) == AccessRefused, $"deleted {queue}");
        }
    }

    [Theory]
    [MemberData(nameof(Users))]
    public async Task No_user_reads_purges_or_deletes_a_queue_it_neither_consumes_nor_sends_to_with_queue_addresses(string name)
    {
        var user = BusCatalogue.Named(name);
        await using var connection = await broker.ConnectAsync(user.Name);
        var mayTouch = user.Consumes.Select(q => q.Name).Concat(user.QueuesSentTo).ToHashSet();

        var allowed = new List<string>();
        foreach (var queue in BrokerTopology.Queues.Select(q => q.Name))
        {
            if (!mayTouch.Contains(queue))
            {
                if (await LeastPrivilegeBroker.AttemptAsync(connection, c => c.BasicGetAsync(queue, autoAck: true)) != AccessRefused)
                    allowed.Add($"read {queue}");
                if (await LeastPrivilegeBroker.AttemptAsync(connection, c => c.QueuePurgeAsync(queue)) != AccessRefused)
                    allowed.Add($"purge {queue}");
            }
            if (!mayTouch.Contains(queue)
                && await LeastPrivilegeBroker.AttemptAsync(connection, c => c.QueueDeleteAsync(queue)) != AccessRefused)
                allowed.Add($"delete {queue}");
        }
        Assert.True(allowed.Count == 0, $"{user} may {string.Join(", ", allowed)}");
    }

    public static TheoryData<string> Users() => [.. BusCatalogue.Processes.Select(p => p.Name)];

    [Fact]
    public async Task A_queue_of_the_operators_own_receives_no_event()
    {
        await using var connection = await broker.ConnectAsync(BusCatalogue.Operator.Name);
        // A name its temporary endpoints may have: the only queues it may make.
        var own = $"operator_bus_{Guid.NewGuid():N}";
        Assert.Equal(Constants.ReplySuccess, await LeastPrivilegeBroker.AttemptAsync(connection,
            c => c.QueueDeclareAsync(own, durable: false, exclusive: false, autoDelete: true)));

        foreach (var message in BusCatalogue.MessageTypes.Where(BusCatalogue.TravelsByTypeExchange))
            Assert.True(await LeastPrivilegeBroker.AttemptAsync(connection, c => c.QueueBindAsync(own, message.ExchangeName, "")) == AccessRefused,
                $"the operator bound its queue to {message.ExchangeName}");
        // Nor to a service queue's own exchange: it sends through its requests' type exchanges, never to queue:.
        foreach (var queue in BrokerTopology.Queues.Select(q => q.Name).Where(q => !q.StartsWith("decommission.", StringComparison.Ordinal)))
            Assert.True(await LeastPrivilegeBroker.AttemptAsync(connection, c => c.QueueBindAsync(own, queue, "")) == AccessRefused,
                $"the operator bound its queue to exchange {queue}");
        await using (var inventory = await broker.ConnectAsync(BusCatalogue.Inventory.Name))
            Assert.Equal(Constants.ReplySuccess, await LeastPrivilegeBroker.PublishAsync(inventory, MessageType.Of<RetirementAccepted>().ExchangeName));
        await using var channel = await connection.CreateChannelAsync();
        Assert.Null(await channel.BasicGetAsync(own, autoAck: true));
        await channel.QueueDeleteAsync(own);
    }

    [Fact]
    public async Task The_operator_cannot_make_or_write_a_services_answer_endpoint()
    {
        await using var connection = await broker.ConnectAsync(BusCatalogue.Operator.Name);
        foreach (var service in BusCatalogue.Services)
        {
            // What a service's temporary endpoint is called on any host (Decommission.ServiceDefaults.SenderVerification.BusEndpointName).
            var endpoint = $"{service.Name}_bus_{Guid.NewGuid():N}";
            Assert.True(await LeastPrivilegeBroker.AttemptAsync(connection, c => c.ExchangeDeclareAsync(endpoint, ExchangeType.Fanout, durable: false, autoDelete: true))
                == AccessRefused, $"the operator made {endpoint}");
        }
    }

    [Fact]
    public async Task The_compose_definitions_declare_the_shared_topology_in_the_root_virtual_host()
    {
        // The fixture imported them into "/" of the test node with rabbitmqctl import_definitions, as the compose broker does.
        var root = new UriBuilder(broker.AdminUri) { Path = "/" }.Uri;
        await using var connection = await new ConnectionFactory { Uri = root }.CreateConnectionAsync();
        foreach (var queue in BrokerTopology.Queues)
        {
            await using var channel = await connection.CreateChannelAsync();
            await channel.QueueDeclarePassiveAsync(queue.Name);
        }
        foreach (var exchange in BrokerTopology.Exchanges)
        {
            await using var channel = await connection.CreateChannelAsync();
            await channel.ExchangeDeclarePassiveAsync(exchange.Name);
        }
    }
}
