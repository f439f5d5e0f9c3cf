using Decommission.Storage;
using MassTransit;
using MassTransit.Middleware;
using MassTransit.Middleware.Outbox;
using MassTransit.Context;

namespace Decommission.Outbox;

/// <summary>
/// A consumed message seen through the outbox: what the consumer sends is captured (serialised, with every header) instead
/// of reaching the broker; a store that changes state writes the captured messages in the same transaction
/// (<see cref="TransactionalOutbox.WriteAsync{T}"/>); MassTransit's outbox pipe delivers them after the consumer returns.
/// </summary>
internal sealed class StoreOutboxConsumeContext<TMessage, TDatabase> : OutboxConsumeContextProxy<TMessage>, IPendingOutbox
    where TMessage : class
    where TDatabase : ServiceDatabase
{
    private readonly OutboxStore<TDatabase> _store;
    private readonly InboxProgress _progress;

    public StoreOutboxConsumeContext(ConsumeContext<TMessage> context, OutboxConsumeOptions options, IServiceProvider provider,
        OutboxStore<TDatabase> store, InboxProgress progress)
        : base(context, options, provider)
    {
        _store = store;
        _progress = progress;
    }

    public override bool ContinueProcessing { get; set; } = true;
    public override bool IsMessageConsumed => _progress.Consumed;
    public override bool IsOutboxDelivered => _progress.Delivered;
    public override int ReceiveCount => _progress.ReceiveCount;
    public override long? LastSequenceNumber => _progress.LastSequenceNumber;

    public ServiceDatabase Database => _store.Database;

    public IReadOnlyList<InMemoryOutboxMessage> Unsaved => _progress.Messages.Skip(_progress.Saved).ToList();

    public Task RecordAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, IReadOnlyList<InMemoryOutboxMessage> messages) =>
        _store.RecordAsync(connection, transaction, _progress.MessageId, _progress.ConsumerId, messages);

    public void Saved(int count)
    {
        _progress.Saved += count;
        _progress.RecordedWithState = true;
    }

    // The consumer returned: whatever it sent that no state change wrote goes in now, with the inbox row (or the inbox row
    // alone, so a redelivery is recognised).
    public override async Task SetConsumed()
    {
        var unsaved = Unsaved;
        if (unsaved.Count > 0 || !_progress.RecordedWithState)
            await _store.RecordAsync(_progress.MessageId, _progress.ConsumerId, unsaved);
        _progress.Saved = _progress.Messages.Count;
        _progress.Consumed = true;
    }

    public override Task SetDelivered()
    {
        _progress.Delivered = true;
        return Task.CompletedTask;
    }

    public override async Task<List<OutboxMessageContext>> LoadOutboxMessages()
    {
        // Sent by this very delivery: in memory already. Consumed by an earlier one (a crash, a broker gone): from the file.
        if (!_progress.MessagesKnown)
        {
            _progress.Messages.AddRange(await _store.LoadAsync(_progress.MessageId, _progress.ConsumerId, CancellationToken));
            _progress.Saved = _progress.Messages.Count;
            _progress.MessagesKnown = true;
        }
        foreach (var message in _progress.Messages)
            message.Deserialize(SerializerContext);
        return _progress.Messages.Cast<OutboxMessageContext>().ToList();
    }

    public override Task NotifyOutboxMessageDelivered(OutboxMessageContext message)
    {
        _progress.LastSequenceNumber = message.SequenceNumber;
        return Task.CompletedTask;
    }

    public override async Task RemoveOutboxMessages()
    {
        await _store.MarkDeliveredAsync(_progress.MessageId, _progress.ConsumerId);
        _progress.Messages.Clear();
        _progress.Saved = 0;
    }

    public override Task AddSend<T>(SendContext<T> context)
    {
        if (context.MessageId is null)
            throw new MessageException(typeof(T), "The outbox needs the message id of what is sent");
        var now = DateTime.UtcNow;
        var message = new InMemoryOutboxMessage
        {
            SequenceNumber = _progress.Messages.Count + 1,
            MessageId = context.MessageId.Value,
            ConversationId = context.ConversationId,
            CorrelationId = context.CorrelationId,
            InitiatorId = context.InitiatorId,
            RequestId = context.RequestId,
            SourceAddress = context.SourceAddress,
            DestinationAddress = context.DestinationAddress,
            ResponseAddress = context.ResponseAddress,
            FaultAddress = context.FaultAddress,
            SentTime = context.SentTime ?? now,
            ExpirationTime = context.TimeToLive is { } ttl ? now + ttl : null,
            ContentType = context.ContentType?.ToString() ?? context.Serialization.DefaultContentType.ToString(),
            MessageType = string.Join(";", context.SupportedMessageTypes),
            Body = context.Serializer.GetMessageBody(context).GetString(),
            Headers = SerializerContext.SerializeDictionary(context.Headers.GetAll()),
        };
        if (context is TransportSendContext<T> transport)
        {
            var properties = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
            transport.WritePropertiesTo(properties);
            message.Properties = SerializerContext.SerializeDictionary(properties);
        }
        _progress.Messages.Add(message);
        return Task.CompletedTask;
    }
}

/// <summary>Where one delivered message stands in the outbox, across the outbox pipe's passes (consume, deliver, clean up).</summary>
internal sealed class InboxProgress(Guid messageId, Guid consumerId)
{
    public Guid MessageId { get; } = messageId;
    public Guid ConsumerId { get; } = consumerId;
    public bool Consumed { get; set; }
    public bool Delivered { get; set; }
    public int ReceiveCount { get; set; }
    public long? LastSequenceNumber { get; set; }

    /// <summary>What consuming sends: captured by this delivery, or loaded from the file for a message consumed earlier.</summary>
    public List<InMemoryOutboxMessage> Messages { get; } = [];

    /// <summary>How many of <see cref="Messages"/> are in the file.</summary>
    public int Saved { get; set; }

    /// <summary>A state change wrote the inbox row with the messages.</summary>
    public bool RecordedWithState { get; set; }

    /// <summary>Messages is complete: captured while consuming here, or loaded.</summary>
    public bool MessagesKnown { get; set; }
}
