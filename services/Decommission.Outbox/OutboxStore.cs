using System.Data.Common;
using Dapper;
using Decommission.Storage;
using MassTransit.Middleware.Outbox;

namespace Decommission.Outbox;

/// <summary>The outbox's two tables in one service's file: which messages were consumed, and what consuming them sends.</summary>
public sealed class OutboxStore<TDatabase>(TDatabase database, TimeProvider clock)
    where TDatabase : ServiceDatabase
{
    public TDatabase Database => database;

    /// <summary>The inbox record of a message for a consumer: null when it has not been consumed here.</summary>
    public async Task<InboxRecord?> FindAsync(Guid messageId, Guid consumerId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<InboxRow>(
            "SELECT consumed_ms AS ConsumedMs, delivered_ms AS DeliveredMs FROM inbox_state WHERE message_id = @MessageId AND consumer_id = @ConsumerId;",
            new { MessageId = messageId.ToString(), ConsumerId = consumerId.ToString() });
        return row is null ? null : new InboxRecord(messageId, consumerId, Consumed: true, Delivered: row.DeliveredMs is not null);
    }

    /// <summary>
    /// Records, inside the caller's transaction, that the message was consumed and what consuming it sends. Idempotent for
    /// the inbox row; the messages given are appended.
    /// </summary>
    public async Task RecordAsync(DbConnection connection, DbTransaction transaction, Guid messageId, Guid consumerId,
        IReadOnlyList<InMemoryOutboxMessage> messages)
    {
        var inbox = new { MessageId = messageId.ToString(), ConsumerId = consumerId.ToString(), Now = clock.GetUtcNow().ToUnixTimeMilliseconds() };
        await connection.ExecuteAsync("""
            INSERT INTO inbox_state (message_id, consumer_id, consumed_ms) VALUES (@MessageId, @ConsumerId, @Now)
            ON CONFLICT (message_id, consumer_id) DO NOTHING;
            """, inbox, transaction);
        if (messages.Count == 0)
            return;
        await connection.ExecuteAsync("""
            INSERT INTO outbox_message (inbox_message_id, inbox_consumer_id, message_id, conversation_id, correlation_id, initiator_id,
                request_id, source_address, destination_address, response_address, fault_address, sent_ms, expiration_ms,
                content_type, message_type, headers, properties, body)
            VALUES (@InboxMessageId, @InboxConsumerId, @MessageId, @ConversationId, @CorrelationId, @InitiatorId,
                @RequestId, @SourceAddress, @DestinationAddress, @ResponseAddress, @FaultAddress, @SentMs, @ExpirationMs,
                @ContentType, @MessageType, @Headers, @Properties, @Body);
            """, messages.Select(m => new
        {
            InboxMessageId = inbox.MessageId,
            InboxConsumerId = inbox.ConsumerId,
            MessageId = m.MessageId.ToString(),
            ConversationId = m.ConversationId?.ToString(),
            CorrelationId = m.CorrelationId?.ToString(),
            InitiatorId = m.InitiatorId?.ToString(),
            RequestId = m.RequestId?.ToString(),
            SourceAddress = m.SourceAddress?.ToString(),
            DestinationAddress = m.DestinationAddress!.ToString(),
            ResponseAddress = m.ResponseAddress?.ToString(),
            FaultAddress = m.FaultAddress?.ToString(),
            SentMs = new DateTimeOffset(m.SentTime, TimeSpan.Zero).ToUnixTimeMilliseconds(),
            ExpirationMs = m.ExpirationTime is { } expires ? new DateTimeOffset(expires, TimeSpan.Zero).ToUnixTimeMilliseconds() : (long?)null,
            m.ContentType,
            m.MessageType,
            m.Headers,
            m.Properties,
            m.Body,
        }), transaction);
    }

    /// <summary>Records a consumed message and what it sends in a transaction of its own (no state change went with them).</summary>
    public Task RecordAsync(Guid messageId, Guid consumerId, IReadOnlyList<InMemoryOutboxMessage> messages) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            await RecordAsync(connection, transaction, messageId, consumerId, messages);
            return true;
        });

    /// <summary>What consuming the message sends, in the order it was sent.</summary>
    public async Task<List<InMemoryOutboxMessage>> LoadAsync(Guid messageId, Guid consumerId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>("""
            SELECT sequence_number AS SequenceNumber, message_id AS MessageId, conversation_id AS ConversationId, correlation_id AS CorrelationId,
                   initiator_id AS InitiatorId, request_id AS RequestId, source_address AS SourceAddress, destination_address AS DestinationAddress,
                   response_address AS ResponseAddress, fault_address AS FaultAddress, sent_ms AS SentMs, expiration_ms AS ExpirationMs,
                   content_type AS ContentType, message_type AS MessageType, headers AS Headers, properties AS Properties, body AS Body
            FROM outbox_message WHERE inbox_message_id = @MessageId AND inbox_consumer_id = @ConsumerId ORDER BY sequence_number;
            """, new { MessageId = messageId.ToString(), ConsumerId = consumerId.ToString() });
        return rows.Select(r => r.ToMessage()).ToList();
    }

    /// <summary>The messages have reached the broker: their rows go, the inbox remembers the message as delivered.</summary>
    public Task MarkDeliveredAsync(Guid messageId, Guid consumerId) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            var key = new { MessageId = messageId.ToString(), ConsumerId = consumerId.ToString(), Now = clock.GetUtcNow().ToUnixTimeMilliseconds() };
            await connection.ExecuteAsync(
                "DELETE FROM outbox_message WHERE inbox_message_id = @MessageId AND inbox_consumer_id = @ConsumerId;", key, transaction);
            return await connection.ExecuteAsync(
                "UPDATE inbox_state SET delivered_ms = @Now WHERE message_id = @MessageId AND consumer_id = @ConsumerId AND delivered_ms IS NULL;",
                key, transaction);
        });

    /// <summary>Consumed messages whose sends have not been delivered since <paramref name="consumedBefore"/>: the backstop's work.</summary>
    public async Task<IReadOnlyList<(Guid MessageId, Guid ConsumerId)>> UndeliveredAsync(DateTimeOffset consumedBefore, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string MessageId, string ConsumerId)>("""
            SELECT message_id AS MessageId, consumer_id AS ConsumerId FROM inbox_state
            WHERE delivered_ms IS NULL AND consumed_ms <= @Before ORDER BY consumed_ms LIMIT @Limit;
            """, new { Before = consumedBefore.ToUnixTimeMilliseconds(), Limit = limit });
        return rows.Select(r => (Guid.Parse(r.MessageId), Guid.Parse(r.ConsumerId))).ToList();
    }

    /// <summary>Forgets delivered messages older than <paramref name="deliveredBefore"/>; a redelivery after that is consumed again.</summary>
    public Task<int> ForgetDeliveredAsync(DateTimeOffset deliveredBefore) =>
        database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync(
            "DELETE FROM inbox_state WHERE delivered_ms IS NOT NULL AND delivered_ms < @Before;",
            new { Before = deliveredBefore.ToUnixTimeMilliseconds() }, transaction));

    private sealed record InboxRow(long ConsumedMs, long? DeliveredMs);

    private sealed record Row(long SequenceNumber, string MessageId, string? ConversationId, string? CorrelationId, string? InitiatorId,
        string? RequestId, string? SourceAddress, string DestinationAddress, string? ResponseAddress, string? FaultAddress, long SentMs,
        long? ExpirationMs, string ContentType, string MessageType, string? Headers, string? Properties, string Body)
    {
        public InMemoryOutboxMessage ToMessage() => new()
        {
            SequenceNumber = SequenceNumber,
            MessageId = Guid.Parse(MessageId),
            ConversationId = ConversationId is null ? null : Guid.Parse(ConversationId),
            CorrelationId = CorrelationId is null ? null : Guid.Parse(CorrelationId),
            InitiatorId = InitiatorId is null ? null : Guid.Parse(InitiatorId),
            RequestId = RequestId is null ? null : Guid.Parse(RequestId),
            SourceAddress = SourceAddress is null ? null : new Uri(SourceAddress),
            DestinationAddress = new Uri(DestinationAddress),
            ResponseAddress = ResponseAddress is null ? null : new Uri(ResponseAddress),
            FaultAddress = FaultAddress is null ? null : new Uri(FaultAddress),
            SentTime = DateTimeOffset.FromUnixTimeMilliseconds(SentMs).UtcDateTime,
            ExpirationTime = ExpirationMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime : null,
            ContentType = ContentType,
            MessageType = MessageType,
            Headers = Headers,
            Properties = Properties,
            Body = Body,
        };
    }
}

/// <summary>A message as the inbox knows it.</summary>
public sealed record InboxRecord(Guid MessageId, Guid ConsumerId, bool Consumed, bool Delivered);
