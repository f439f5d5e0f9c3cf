using Decommission.Topology;
using MassTransit;
using MassTransit.RabbitMqTransport;

namespace Decommission.ServiceDefaults;

/// <summary>
/// Who sent a message, as the broker vouches for it. Every process stamps its broker user into the AMQP <c>user-id</c>
/// property of what it sends, publishes or answers; RabbitMQ refuses a message whose user-id is not the user of the
/// connection that publishes it. A consumer then takes a message only from a user the bus catalogue names as a producer
/// of its type: a leaked credential that may write to a queue still cannot make a service believe an event it does not
/// produce (the operator's user sending IdentityRevoked, or a RetireDevice envelope carrying another type).
/// </summary>
public static class SenderVerification
{
    public static void StampSender(this IBusFactoryConfigurator cfg, string user)
    {
        cfg.ConfigureSend(send => send.UseSendExecute(context => Stamp(context, user)));
        cfg.ConfigurePublish(publish => publish.UseExecute(context => Stamp(context, user)));
    }

    public static void VerifySenders(this IConsumePipeConfigurator cfg) => cfg.UseConsumeFilter(typeof(VerifiedSenderFilter<>), new NoRegistration());

    /// <summary>The broker user in an amqp:// URI.</summary>
    public static string UserOf(Uri rabbitMqUri) =>
        Uri.UnescapeDataString(rabbitMqUri.UserInfo.Split(':', 2)[0] is { Length: > 0 } user ? user : "guest");

    private static void Stamp(SendContext context, string user)
    {
        if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
            rabbit.BasicProperties.UserId = user;
    }

    /// <summary>The catalogue users that may produce <paramref name="messageType"/> (send, publish or answer it). A fault of
    /// a request (<c>Fault&lt;T&gt;</c>) comes from whoever consumes T.</summary>
    public static IReadOnlySet<string> ProducersOf(Type messageType)
    {
        if (messageType.IsGenericType && messageType.GetGenericTypeDefinition() == typeof(Fault<>))
        {
            var faulted = MessageType(messageType.GetGenericArguments()[0]);
            return BusCatalogue.Processes.Where(p => p.Consumes.Any(q => q.Messages.Contains(faulted))).Select(p => p.Name).ToHashSet();
        }
        var type = MessageType(messageType);
        return BusCatalogue.Processes
            .Where(p => p.Sends.Any(s => s.Message == type) || p.Publishes.Contains(type) || p.Responds.Contains(type))
            .Select(p => p.Name).ToHashSet();
    }

    private static MessageType MessageType(Type type) => new(type.Namespace ?? "", type.Name);

    // UseConsumeFilter(Type, …) wants a registration context to resolve the filter; this filter needs no services.
    private sealed class NoRegistration : IRegistrationContext
    {
        public object? GetService(Type serviceType) => null;
        public T GetRequiredService<T>() where T : notnull => throw new InvalidOperationException($"no {typeof(T).Name} here");
        public T? GetService<T>() where T : class => null;
        public void ConfigureConsumer(Type consumerType, IReceiveEndpointConfigurator configurator) => throw new NotSupportedException();
        public void ConfigureConsumer<T>(IReceiveEndpointConfigurator configurator, Action<IConsumerConfigurator<T>>? configure = null) where T : class, IConsumer => throw new NotSupportedException();
        public void ConfigureConsumers(IReceiveEndpointConfigurator configurator) => throw new NotSupportedException();
        public void ConfigureSaga(Type sagaType, IReceiveEndpointConfigurator configurator) => throw new NotSupportedException();
        public void ConfigureSaga<T>(IReceiveEndpointConfigurator configurator, Action<ISagaConfigurator<T>>? configure = null) where T : class, ISaga => throw new NotSupportedException();
        public void ConfigureSagas(IReceiveEndpointConfigurator configurator) => throw new NotSupportedException();
        public void ConfigureExecuteActivity(Type activityType, IReceiveEndpointConfigurator configurator) => throw new NotSupportedException();
        public void ConfigureActivity(Type activityType, IReceiveEndpointConfigurator executeEndpointConfigurator, IReceiveEndpointConfigurator compensateEndpointConfigurator) => throw new NotSupportedException();
        public void ConfigureActivityExecute(Type activityType, IReceiveEndpointConfigurator executeEndpointConfigurator, Uri compensateAddress) => throw new NotSupportedException();
        public void ConfigureActivityCompensate(Type activityType, IReceiveEndpointConfigurator compensateEndpointConfigurator) => throw new NotSupportedException();
        public void ConfigureFuture(Type futureType, IReceiveEndpointConfigurator configurator) => throw new NotSupportedException();
        public void ConfigureFuture<T>(IReceiveEndpointConfigurator configurator) where T : class, ISaga => throw new NotSupportedException();
    }
}

/// <summary>Refuses a message whose broker-vouched sender (AMQP user-id) the bus catalogue does not name as a producer of its type.</summary>
public sealed class VerifiedSenderFilter<T> : IFilter<ConsumeContext<T>>
    where T : class
{
    private static readonly IReadOnlySet<string> Producers = SenderVerification.ProducersOf(typeof(T));

    public Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        // In memory (the all-in-one host, test harnesses) there is no broker and no one else on the bus.
        if (!context.ReceiveContext.TryGetPayload<RabbitMqBasicConsumeContext>(out var rabbit))
            return next.Send(context);
        var sender = rabbit.Properties.UserId;
        if (string.IsNullOrEmpty(sender) || !Producers.Contains(sender))
            throw new UnverifiedSenderException(
                $"{typeof(T).Name} refused: sent by broker user '{sender ?? "(not stated)"}', and only {(Producers.Count == 0 ? "nobody" : string.Join(", ", Producers.Order()))} may produce it (contracts/Decommission.Topology: BusCatalogue)");
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("verified-sender");
}

/// <summary>A message from a sender that may not produce it: no retry can make it believable.</summary>
public sealed class UnverifiedSenderException(string message) : Exception(message);
