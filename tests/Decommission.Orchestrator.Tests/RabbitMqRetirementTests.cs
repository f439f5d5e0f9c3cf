using Decommission.Testing;
using System.Text;
using System.Text.Json;
using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace Decommission.Orchestrator.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RabbitMqCollection
{
    public const string Name = "RabbitMQ";
}

/// <summary>The orchestrator on the real RabbitMQ node that ops/test.sh starts.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMqRetirementTests
{
    private const string ErrorQueue = QueueNames.RetireDevice + "_error";

    [Fact]
    public async Task A_retirement_runs_from_request_to_completed_over_rabbitmq()
    {
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register);
        var id = await new Scenario(host).Retire("rmq-dev-1");

        var completed = await host.WaitForState(id, "Completed", seconds: 30);

        Assert.Equal($"cert-{id:N}", completed.CertificateId);
        var status = await host.Bus.CreateRequestClient<GetRetirementStatus>(new Uri($"queue:{QueueNames.RetirementStatus}"))
            .GetResponse<RetirementStatus>(new GetRetirementStatus { DeviceId = "rmq-dev-1" });
        Assert.Equal("Completed", status.Message.State);
        Assert.Equal(["Requested", "Quarantining", "Erasing", "RevokingIdentity", "Certifying", "Completed"],
            status.Message.History.Select(h => h.ToState));
        // The bus talks to its broker only: MassTransit's usage report to its vendor is off.
        Assert.False(host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<UsageTelemetryOptions>>().Value.Enabled);
    }

    [Fact]
    public async Task A_device_under_legal_hold_is_refused_with_the_reason_over_rabbitmq()
    {
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register);

        var id = await new Scenario(host).Retire("held-rmq-1");

        var refused = await host.WaitForState(id, "Refused", seconds: 30);
        Assert.Equal((RefusalReasons.LegalHold, "litigation hold #12"), (refused.FailureReason, refused.FailureDetail));
    }

    [Fact]
    public async Task Malformed_messages_land_in_the_error_queue_with_the_reason_and_the_orchestrator_keeps_working()
    {
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register);
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        // Declared as MassTransit declares it, so it can be emptied before it has ever held a fault.
        await channel.QueueDeclareAsync(ErrorQueue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueuePurgeAsync(ErrorQueue);

        // Any AMQP client can talk to the queue: one sends garbage, one sends a well-formed request with no device.
        var garbageId = Guid.NewGuid().ToString();
        await PublishRaw(channel, garbageId, "{ this is not json"u8.ToArray());
        var emptyId = Guid.NewGuid().ToString();
        await PublishRaw(channel, emptyId, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            messageId = emptyId,
            messageType = new[] { "urn:message:Decommission.Contracts:RetireDevice" },
            message = new { deviceId = "", reason = "eol", requestedBy = "script", requestedAt = DateTimeOffset.UtcNow },
        })));

        var errors = await ReadErrorQueue(channel, expected: 2);
        Assert.Contains(garbageId, errors.Keys);
        Assert.Contains(emptyId, errors.Keys);
        Assert.Contains("DeviceId is required", errors[emptyId]);
        Assert.False(string.IsNullOrWhiteSpace(errors[garbageId]));

        var id = await new Scenario(host).Retire("rmq-after-garbage");
        await host.WaitForState(id, "Completed", seconds: 30);
    }

    [Fact]
    public async Task With_sender_checks_on_a_message_from_a_user_the_catalogue_does_not_name_is_refused_with_the_reason()
    {
        // The node's guest user is no catalogue user: nothing it sends may move a retirement.
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register, new() { ["Bus:VerifySenders"] = "true" });
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(ErrorQueue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueuePurgeAsync(ErrorQueue);

        var id = Guid.NewGuid().ToString();
        await PublishRaw(channel, id, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            messageId = id,
            messageType = new[] { "urn:message:Decommission.Contracts:RetireDevice" },
            message = new { deviceId = "dev-from-guest", reason = "eol", requestedBy = "mallory", requestedAt = DateTimeOffset.UtcNow },
        })), userId: "guest");

        var errors = await ReadErrorQueue(channel, expected: 1);
        Assert.Contains("RetireDevice refused: sent by broker user 'guest', and only certificates, operator, orchestrator may produce Decommission.Contracts:RetireDevice", errors[id]);
        Assert.Null(await host.Store.LoadAsync(Guid.Parse(id)));
    }

    [Fact]
    public async Task A_message_nobody_on_the_queue_takes_is_skipped_with_the_reason()
    {
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register);
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var skipped = $"{QueueNames.RetireDevice}_skipped";
        await channel.QueueDeclareAsync(skipped, durable: true, exclusive: false, autoDelete: false);
        await channel.QueuePurgeAsync(skipped);

        // A well-formed message of a type the saga's queue does not take.
        var id = Guid.NewGuid().ToString();
        await PublishRaw(channel, id, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            messageId = id,
            messageType = new[] { "urn:message:Decommission.Contracts:ImportDevices" },
            message = new { csv = "deviceId", requestedBy = "script" },
        })));

        var message = await Eventually.Get(() => channel.BasicGetAsync(skipped, autoAck: true), m => m?.BasicProperties.MessageId == id,
            $"message {id} to reach {skipped}", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100), m => m?.BasicProperties.MessageId ?? "(queue empty)");
        var reason = message!.BasicProperties.Headers?["MT-Reason"] is byte[] bytes ? Encoding.UTF8.GetString(bytes) : "";
        Assert.Equal($"skipped: no consumer on queue {QueueNames.RetireDevice} takes Decommission.Contracts:ImportDevices", reason);
    }

    [Fact]
    public async Task Two_orchestrators_on_one_PostgreSQL_database_share_the_saga_queue_and_move_each_retirement_once_per_step()
    {
        var settings = new Dictionary<string, string?> { ["Storage:Postgres"] = await PostgresServer.NewDatabaseAsync() };
        await using var first = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register, settings);
        await using var second = await OrchestratorHost.StartOnRabbitMqAsync(PlayedServices.Register, settings);
        var consumed = new[] { new ConsumeCounter(), new ConsumeCounter() };
        using var _ = first.Bus.ConnectConsumeObserver(consumed[0]);
        using var __ = second.Bus.ConnectConsumeObserver(consumed[1]);

        var ids = new List<Guid>();
        for (var i = 0; i < 30; i++)
            ids.Add(await new Scenario(i % 2 == 0 ? first : second).Retire($"replica-{i}-{Guid.NewGuid():N}"));
        foreach (var id in ids)
            await first.WaitForState(id, "Completed", seconds: 60);

        var database = first.Services.GetRequiredService<OrchestratorDatabase>();
        foreach (var id in ids)
            Assert.Equal(["Requested", "Quarantining", "Erasing", "RevokingIdentity", "Certifying", "Completed"],
                (await RetirementQueries.AuditTrailOf(database, id)).Select(e => e.ToState));
        Assert.All(consumed, c => Assert.True(c.Count > 0, "both replicas consumed from the shared queues"));
    }

    private sealed class ConsumeCounter : IConsumeObserver
    {
        private int _count;
        public int Count => _count;
        public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;
        public Task PostConsume<T>(ConsumeContext<T> context) where T : class
        {
            Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }
        public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;
    }

    private static async Task PublishRaw(IChannel channel, string messageId, byte[] body, string? userId = null)
    {
        var properties = new BasicProperties { MessageId = messageId, ContentType = "application/vnd.masstransit+json", Persistent = true, UserId = userId };
        await channel.BasicPublishAsync("", QueueNames.RetireDevice, mandatory: true, basicProperties: properties, body: body);
    }

    /// <summary>The error queue's messages by message id, each with the fault reason MassTransit wrote in its headers.</summary>
    private static Task<Dictionary<string, string>> ReadErrorQueue(IChannel channel, int expected)
    {
        var found = new Dictionary<string, string>();
        return Eventually.Get(async () =>
        {
            for (var message = await channel.BasicGetAsync(ErrorQueue, autoAck: true); message is not null; message = await channel.BasicGetAsync(ErrorQueue, autoAck: true))
            {
                var headers = message.BasicProperties.Headers ?? new Dictionary<string, object?>();
                var reason = headers.TryGetValue("MT-Fault-Message", out var value) && value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : "";
                found[message.BasicProperties.MessageId ?? ""] = reason;
            }
            return found;
        }, all => all.Count >= expected, $"{expected} messages in {ErrorQueue}", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100),
            all => string.Join("; ", all.Select(e => $"{e.Key}: {e.Value}")));
    }
}
