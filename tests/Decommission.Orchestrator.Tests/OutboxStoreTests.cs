using System.Collections.Concurrent;
using Decommission.Orchestrator.Persistence;
using Decommission.Outbox;
using Decommission.Storage;
using Decommission.Testing;
using MassTransit.Middleware.Outbox;

namespace Decommission.Orchestrator.Tests;

/// <summary>The transactional outbox's store (Decommission.Outbox) in a service's database of either engine: here the orchestrator's.</summary>
public sealed class OutboxStoreTests
{
    private static readonly Guid Consumer = Guid.NewGuid();

    private static async Task<OutboxStore<OrchestratorDatabase>> NewStore(DatabaseLocation location)
    {
        var database = new OrchestratorDatabase(location);
        await database.MigrateAsync();
        var store = new OutboxStore<OrchestratorDatabase>(database, TimeProvider.System);
        await store.CreateTablesAsync();
        return store;
    }

    private static InMemoryOutboxMessage Message(string body, Guid? correlation = null) => new()
    {
        MessageId = Guid.NewGuid(),
        ConversationId = Guid.NewGuid(),
        CorrelationId = correlation,
        SourceAddress = new Uri("rabbitmq://localhost/orchestrator"),
        DestinationAddress = new Uri("rabbitmq://localhost/Decommission.Contracts:EraseDevice"),
        SentTime = DateTime.UtcNow,
        ContentType = "application/vnd.masstransit+json",
        MessageType = "urn:message:Decommission.Contracts:EraseDevice",
        Headers = """{"attempt":"1"}""",
        Body = body,
    };

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Replicas_starting_together_on_an_empty_database_all_start_with_the_outbox_tables_made_once(SqlDialect engine)
    {
        var location = PostgresServer.NewLocation(engine, "outbox");
        var replicas = Enumerable.Range(0, 4).Select(_ => new OrchestratorDatabase(location)).ToList();

        // Each replica's start-up: its schema scripts, then the outbox's tables, all at the same moment.
        await Task.WhenAll(replicas.Select(r => Task.Run(async () =>
        {
            await r.MigrateAsync();
            await new OutboxStore<OrchestratorDatabase>(r, TimeProvider.System).CreateTablesAsync();
        })));

        var store = new OutboxStore<OrchestratorDatabase>(replicas[0], TimeProvider.System);
        await store.RecordAsync(Guid.NewGuid(), Consumer, [Message("{}")]);
        Assert.Single(await store.UndeliveredAsync(DateTimeOffset.UtcNow.AddMinutes(1), 10, CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_consumed_message_is_recorded_loaded_in_order_delivered_once_and_forgotten(SqlDialect engine)
    {
        var store = await NewStore(PostgresServer.NewLocation(engine, "outbox"));
        var consumed = Guid.NewGuid();
        var correlation = Guid.NewGuid();
        var sent = new[] { Message("""{"first":1}""", correlation), Message("""{"second":2}""") };

        await store.RecordAsync(consumed, Consumer, sent);
        await store.RecordAsync(consumed, Consumer, []); // the inbox row is written once
        var found = await store.FindAsync(consumed, Consumer, CancellationToken.None);
        var loaded = await store.LoadAsync(consumed, Consumer, CancellationToken.None);
        var undelivered = await store.UndeliveredAsync(DateTimeOffset.UtcNow.AddSeconds(1), 10, CancellationToken.None);
        var notYetOverdue = await store.UndeliveredAsync(DateTimeOffset.UtcNow.AddMinutes(-1), 10, CancellationToken.None);

        Assert.Equal(new InboxRecord(consumed, Consumer, Consumed: true, Delivered: false), found);
        Assert.Equal(sent.Select(m => (m.MessageId, m.Body, m.Headers, m.DestinationAddress, m.CorrelationId)),
            loaded.Select(m => (m.MessageId, m.Body, m.Headers, m.DestinationAddress, m.CorrelationId)));
        Assert.True(loaded[0].SequenceNumber < loaded[1].SequenceNumber);
        Assert.Equal([(consumed, Consumer)], undelivered);
        Assert.Empty(notYetOverdue);
        Assert.Null(await store.FindAsync(Guid.NewGuid(), Consumer, CancellationToken.None));

        await store.MarkDeliveredAsync(consumed, Consumer);

        Assert.Equal(new InboxRecord(consumed, Consumer, Consumed: true, Delivered: true), await store.FindAsync(consumed, Consumer, CancellationToken.None));
        Assert.Empty(await store.LoadAsync(consumed, Consumer, CancellationToken.None));
        Assert.Empty(await store.UndeliveredAsync(DateTimeOffset.UtcNow.AddSeconds(1), 10, CancellationToken.None));
        Assert.Equal(0, await store.ForgetDeliveredAsync(DateTimeOffset.UtcNow.AddMinutes(-1)));
        Assert.Equal(1, await store.ForgetDeliveredAsync(DateTimeOffset.UtcNow.AddSeconds(1)));
        Assert.Null(await store.FindAsync(consumed, Consumer, CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task The_backstop_delivers_what_was_left_undelivered_in_order_and_marks_it(SqlDialect engine)
    {
        var store = await NewStore(PostgresServer.NewLocation(engine, "outbox"));
        var left = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in left)
            await store.RecordAsync(id, Consumer, [Message($$"""{"of":"{{id}}","n":1}"""), Message($$"""{"of":"{{id}}","n":2}""")]);
        var delivered = new List<string>();

        var sent = await store.DeliverUndeliveredAsync(DateTimeOffset.UtcNow.AddSeconds(1), 100, messages =>
        {
            delivered.AddRange(messages.Select(m => m.Body));
            return Task.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal(10, sent);
        Assert.Equal(left.SelectMany(id => new[] { $$"""{"of":"{{id}}","n":1}""", $$"""{"of":"{{id}}","n":2}""" }).Order(), delivered.Order());
        Assert.All(left, id => Assert.True(store.FindAsync(id, Consumer, CancellationToken.None).Result!.Delivered));
        Assert.Equal(0, await store.DeliverUndeliveredAsync(DateTimeOffset.UtcNow.AddSeconds(1), 100, _ => throw new InvalidOperationException("nothing is left"), CancellationToken.None));
    }

    [Fact]
    public async Task Two_backstops_on_one_PostgreSQL_schema_never_deliver_one_message_twice()
    {
        var location = PostgresServer.NewLocation(SqlDialect.Postgres, "outbox");
        // Two replicas: a database and an outbox store each, on one schema.
        var replicas = new[] { await NewStore(location), await NewStore(location) };
        var left = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in left)
            await replicas[0].RecordAsync(id, Consumer, [Message($$"""{"of":"{{id}}"}""")]);
        var delivered = new ConcurrentBag<(int Replica, string Body)>();

        // Both sweep at once, each sending slowly (a broker round trip), twice over.
        var passes = await Task.WhenAll(Enumerable.Range(0, 4).Select(pass => Task.Run(() => replicas[pass % 2].DeliverUndeliveredAsync(
            DateTimeOffset.UtcNow.AddSeconds(1), 100, async messages =>
            {
                foreach (var message in messages)
                    delivered.Add((pass % 2, message.Body));
                await Task.Delay(20);
            }, CancellationToken.None))));

        Assert.Equal(40, passes.Sum());
        Assert.Equal(left.Select(id => $$"""{"of":"{{id}}"}""").Order(), delivered.Select(d => d.Body).Order());
        Assert.Equal(2, delivered.Select(d => d.Replica).Distinct().Count()); // both took part
        Assert.Empty(await replicas[1].UndeliveredAsync(DateTimeOffset.UtcNow.AddSeconds(1), 100, CancellationToken.None));
    }
}
