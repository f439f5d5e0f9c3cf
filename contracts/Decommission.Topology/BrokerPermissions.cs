namespace Decommission.Topology;

/// <summary>A broker user's configure, write and read patterns (RabbitMQ matches each against a resource's whole name).</summary>
public sealed record UserPermissions(string User, string Configure, string Write, string Read)
{
    /// <summary>The line ops/up.sh reads: user, configure, write, read, tab-separated.</summary>
    public string ToLine() => $"{User}\t{Configure}\t{Write}\t{Read}";
}

/// <summary>
/// What each process's broker user may do, from <see cref="BusCatalogue"/> and what MassTransit 8.5 does on RabbitMQ:
/// <list type="bullet">
/// <item>its own queues q (with q_error and q_skipped, where MassTransit moves what fails or nobody takes): MassTransit declares
/// the queue and an exchange of its name and binds them (configure, write, read);</item>
/// <item>a published type T, or a command sent through its type's exchange: MassTransit declares the exchange Namespace:T
/// before writing to it (configure, write);</item>
/// <item>a send to queue:x: MassTransit declares exchange x AND queue x and binds them, non-passively, before the first
/// send; RabbitMQ then wants configure and write on x and read on exchange x — and cannot tell queue x from exchange x,
/// so the sender holds the same rights on the queue (see docs/deployment.md, "What a send to queue: costs");</item>
/// <item>its temporary bus endpoint (<c>user_bus_id</c>, named after its broker user: an exclusive queue and an exchange), where
/// answers come; answering means declaring and writing to the endpoint exchange of exactly the processes that send it
/// requests (never their queue: it is exclusive to the requester's connection);</item>
/// <item>the device channel's raw rights as listed.</item>
/// </list>
/// Consumers bind nothing: the shared type exchanges and their bindings are declared by <see cref="BrokerTopology"/> with an
/// administrator's connection, and the services run with ConfigureConsumeTopology off (Bus:DeclareConsumeTopology=false).
/// Fault&lt;T&gt; events are not published on RabbitMQ (nobody consumes them; the message is in q_error with the fault headers).
/// </summary>
public static class BrokerPermissions
{
    public static IReadOnlyList<UserPermissions> All { get; } = BusCatalogue.Processes.Select(Of).ToList();

    public static UserPermissions Of(BusProcess process)
    {
        var configure = new List<string>();
        var write = new List<string>();
        var read = new List<string>();

        var own = process.Consumes.Select(q => BusCatalogue.Exact(q.Name) + "(_error|_skipped)?").ToList();
        configure.AddRange(own);
        write.AddRange(own);
        read.AddRange(own);

        var published = process.TypeExchanges.Select(m => BusCatalogue.Exact(m.ExchangeName)).ToList();
        configure.AddRange(published);
        write.AddRange(published);

        var sendTargets = process.QueuesSentTo.Where(q => process.Consumes.All(own => own.Name != q))
            .Select(BusCatalogue.Exact).ToList();
        configure.AddRange(sendTargets);
        write.AddRange(sendTargets);
        read.AddRange(sendTargets);

        if (process.BusEndpoint is { } endpoint)
        {
            configure.Add(endpoint);
            write.Add(endpoint);
            read.Add(endpoint);
        }

        // An answer goes to the requester's endpoint exchange, which MassTransit declares (temporary) before sending.
        foreach (var requester in BusCatalogue.RequestersOf(process).Where(r => r.BusEndpoint is not null && r != process))
        {
            configure.Add(requester.BusEndpoint!);
            write.Add(requester.BusEndpoint!);
        }

        return new UserPermissions(process.Name, Pattern(configure), Pattern(write), Pattern(read));
    }

    /// <summary>One anchored alternation; nothing at all is "^$" (it matches only the empty name, which no resource has).</summary>
    private static string Pattern(List<string> alternatives) =>
        alternatives.Count == 0 ? "^$" : $"^({string.Join('|', alternatives.Distinct())})$";
}
