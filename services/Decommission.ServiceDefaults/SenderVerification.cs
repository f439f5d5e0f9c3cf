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

    /// <summary>Every receive endpoint of the bus, its temporary endpoint (where answers come) included, checks who sent what it takes.</summary>
    public static void VerifySenders(this IBusFactoryConfigurator cfg) => cfg.UseFilter(new VerifiedSenderFilter());

    /// <summary>The temporary endpoint's queue named after the broker user, so that the user's permissions can name it whatever the host is called.</summary>
    public static string BusEndpointName(string user) => $"{user}_bus_{NewId.NextGuid():N}";

    /// <summary>The broker user in an amqp:// URI.</summary>
    public static string UserOf(Uri rabbitMqUri) =>
        Uri.UnescapeDataString(rabbitMqUri.UserInfo.Split(':', 2)[0] is { Length: > 0 } user ? user : "guest");

    private static void Stamp(SendContext context, string user)
    {
        if (context.TryGetPayload<RabbitMqSendContext>(out var rabbit))
            rabbit.BasicProperties.UserId = user;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlySet<string>> ProducersByUrn = new();

    /// <summary>The catalogue users that may produce the message named by a MassTransit message URN
    /// (<c>urn:message:Namespace:Type</c>, a fault <c>urn:message:MassTransit:Fault[[Namespace:Type]]</c>); empty if nobody may.</summary>
    public static IReadOnlySet<string> ProducersOf(string urn) => ProducersByUrn.GetOrAdd(urn, static urn =>
    {
        const string prefix = "urn:message:";
        if (!urn.StartsWith(prefix, StringComparison.Ordinal))
            return new HashSet<string>();
        var name = urn[prefix.Length..];
        if (name.StartsWith("MassTransit:Fault[[", StringComparison.Ordinal) && name.EndsWith("]]", StringComparison.Ordinal))
        {
            var faulted = Parse(name["MassTransit:Fault[[".Length..^2]);
            return BusCatalogue.Processes.Where(p => p.Consumes.Any(q => q.Messages.Contains(faulted))).Select(p => p.Name).ToHashSet();
        }
        var type = Parse(name);
        return BusCatalogue.Processes
            .Where(p => p.Sends.Any(s => s.Message == type) || p.Publishes.Contains(type) || p.Responds.Contains(type))
            .Select(p => p.Name).ToHashSet();
    });

    private static MessageType Parse(string name)
    {
        var colon = name.LastIndexOf(':');
        return colon < 0 ? new MessageType("", name) : new MessageType(name[..colon], name[(colon + 1)..]);
    }
}

/// <summary>
/// Refuses a message whose broker-vouched sender (AMQP user-id) the bus catalogue does not name as a producer of every
/// type its envelope claims. It sits in front of every consumer, saga and response handler of an endpoint.
/// </summary>
public sealed class VerifiedSenderFilter : IFilter<ConsumeContext>
{
    public Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        // In memory (the all-in-one host, test harnesses) there is no broker and no one else on the bus.
        if (!context.ReceiveContext.TryGetPayload<RabbitMqBasicConsumeContext>(out var rabbit))
            return next.Send(context);
        // The user-id as received (BrokerSenderFilter keeps it before it takes it off the message, for moves to _error).
        var sender = context.ReceiveContext.TryGetPayload<BrokerSender>(out var kept) ? kept.User : rabbit.Properties.UserId;
        var types = context.SupportedMessageTypes.ToList();
        // A fault names its generic type and MassTransit's Fault interface: the generic one says what failed, and is checked.
        if (types.Any(t => t.StartsWith("urn:message:MassTransit:Fault[[", StringComparison.Ordinal)))
            types.Remove("urn:message:MassTransit:Fault");
        var refused = types.Count == 0 ? "a message of no type"
            : types.FirstOrDefault(urn => string.IsNullOrEmpty(sender) || !SenderVerification.ProducersOf(urn).Contains(sender));
        if (refused is not null)
        {
            var name = Decommission.DeviceProtocol.UntrustedText.Safe(refused.Replace("urn:message:", "", StringComparison.Ordinal), 200);
            var producers = types.Count == 0 ? new HashSet<string>() : SenderVerification.ProducersOf(refused);
            throw new UnverifiedSenderException(
                $"{name[(name.LastIndexOf(':') + 1)..]} refused: sent by broker user '{Decommission.DeviceProtocol.UntrustedText.Safe(sender ?? "(not stated)", 64)}', and only "
                + $"{(producers.Count == 0 ? "nobody" : string.Join(", ", producers.Order()))} may produce {name} (contracts/Decommission.Topology: BusCatalogue)");
        }
        return next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("verified-sender");
}

/// <summary>A message from a sender that may not produce it: no retry can make it believable.</summary>
public sealed class UnverifiedSenderException(string message) : Exception(message);

/// <summary>The broker user that published a received message (its AMQP user-id, which RabbitMQ vouches for).</summary>
public sealed record BrokerSender(string User);

/// <summary>
/// Takes the sender's user-id off a received message (keeping it as <see cref="BrokerSender"/>) before anything can move the
/// message: MassTransit's moves to <c>_error</c> and <c>_skipped</c> copy the message's properties, and RabbitMQ refuses a
/// user-id that is not the moving connection's own user — the channel would close and the message come back forever.
/// </summary>
public sealed class BrokerSenderFilter : IFilter<ReceiveContext>
{
    // RabbitMQ.Client 7 hands deliveries over with read-only properties, and MassTransit's receive context is the payload
    // its moves read them from: the user-id is cleared in place, on the delivered properties object.
    private static readonly System.Reflection.FieldInfo? UserIdField =
        typeof(RabbitMQ.Client.ReadOnlyBasicProperties).GetField("_userId",
            System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);

    public Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        if (context.TryGetPayload<RabbitMqBasicConsumeContext>(out var rabbit) && rabbit.Properties.UserId is { Length: > 0 } user)
        {
            context.GetOrAddPayload(() => new BrokerSender(user));
            Clear(rabbit.Properties);
            if (!string.IsNullOrEmpty(rabbit.Properties.UserId))
                throw new InvalidOperationException(
                    $"Cannot take the user-id off a received {rabbit.Properties.GetType().Name}: moving the message to _error would be refused by RabbitMQ.");
        }
        return next.Send(context);
    }

    private static void Clear(RabbitMQ.Client.IReadOnlyBasicProperties properties)
    {
        if (properties is RabbitMQ.Client.IBasicProperties writable)
            writable.UserId = null;
        else if (properties is RabbitMQ.Client.ReadOnlyBasicProperties && UserIdField is not null)
            UserIdField.SetValue(properties, null);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("broker-sender");
}
