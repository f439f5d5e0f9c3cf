using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Decommission.ServiceDefaults;

/// <summary>
/// One bus per process, composed from every service's registration: each service adds its consumers and sagas with
/// <see cref="AddBusRegistration"/>, then the host calls <see cref="AddMessageBus"/> once.
/// </summary>
public static class MessageBusExtensions
{
    private const string RegistrationsKey = "Decommission.BusRegistrations";

    public static IHostApplicationBuilder AddBusRegistration(this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator> register)
    {
        GetOrCreate(builder).Add(register);
        return builder;
    }

    /// <summary>Every registration the services added, for hosts (and test harnesses) that build the bus themselves.</summary>
    public static void ApplyBusRegistrations(this IHostApplicationBuilder builder, IBusRegistrationConfigurator bus)
    {
        // MassTransit 8.4+ reports anonymous usage to its vendor over the internet unless told not to; our services talk
        // to their broker and nothing else.
        bus.ConfigureUsageTelemetryOptions(telemetry => telemetry.Enabled = false);
        foreach (var register in GetOrCreate(builder))
            register(bus);
    }

    public static IHostApplicationBuilder AddMessageBus(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<BusOptions>().BindConfiguration(BusOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(BusOptions.Section).Get<BusOptions>() ?? new BusOptions();
        builder.Services.AddOptions<BrokerClusterOptions>().BindConfiguration(BrokerClusterOptions.Section);
        var cluster = builder.Configuration.GetSection(BrokerClusterOptions.Section).Get<BrokerClusterOptions>() ?? new BrokerClusterOptions();

        // Nothing may publish before the queues exist.
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });

        builder.Services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            builder.ApplyBusRegistrations(bus);
            if (options.Transport == BusTransport.RabbitMq)
                bus.AddConfigureEndpointsCallback((_, _, endpoint) =>
                {
                    ConfigureForLeastPrivilege(endpoint, options);
                    // Replicated on the cluster's nodes; the _error and _skipped queues MassTransit derives from the endpoint take
                    // its queue arguments, so they are quorum queues too.
                    if (cluster.QuorumQueues && endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
                        rabbit.SetQuorumQueue();
                });

            if (options.Transport == BusTransport.InMemory)
            {
                bus.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
                return;
            }

            // A publish the broker refuses reconnects the bus (see BrokerRejectionRecovery: RabbitMQ 3.10 after a node loss).
            bus.AddSingleton<BrokerRejectionRecovery>();
            bus.AddSendObserver(provider => provider.GetRequiredService<BrokerRejectionRecovery>());
            bus.AddPublishObserver(provider => provider.GetRequiredService<BrokerRejectionRecovery>());
            bus.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(options.RabbitMqUri, host =>
                {
                    BrokerTls.Configure(host, options.RabbitMqUri, options.BrokerCaCertificatePath);
                    UseCluster(host, cluster.NodeList);
                });
                cfg.PrefetchCount = options.PrefetchCount;
                // Who sent what is checked, not assumed: every message carries our broker user, vouched for by the broker.
                var user = SenderVerification.UserOf(options.RabbitMqUri);
                cfg.StampSender(user);
                cfg.OverrideDefaultBusEndpointQueueName(SenderVerification.BusEndpointName(user));
                if (options.VerifySenders)
                    cfg.VerifySenders();
                cfg.ConfigureEndpoints(context);
            });
        });
        return builder;
    }

    // A broker user may declare only what it owns (contracts/Decommission.Topology: BrokerPermissions). The shared type
    // exchanges and their bindings to our queues are declared by the broker's set-up (BrokerTopology), so an endpoint binds
    // nothing; and Fault<T> events are not published: nobody consumes them, and the failed message waits in <queue>_error
    // with the fault in its headers, so nobody needs rights on MassTransit:Fault--… exchanges.
    private static void ConfigureForLeastPrivilege(IReceiveEndpointConfigurator endpoint, BusOptions options)
    {
        endpoint.PublishFaults = false;
        // Our own user-id goes on what we move to _error/_skipped, never the sender's (RabbitMQ would refuse it).
        endpoint.ConfigureReceive(receive => receive.UseFilter(new BrokerSenderFilter()));
        // What nobody here consumes goes to <queue>_skipped saying so, instead of MassTransit's bare "dead-letter".
        endpoint.ConfigureDeadLetter(pipe => pipe.UseFilter(new SkippedWithReasonFilter()));
        if (!options.DeclareConsumeTopology)
            endpoint.ConfigureConsumeTopology = false;
    }

    /// <summary>Connects to the first node of <paramref name="nodes"/> that answers and, when it is lost, to the next (MassTransit
    /// reconnects and re-declares what it consumes); nothing when no nodes are configured.</summary>
    public static void UseCluster(IRabbitMqHostConfigurator host, IReadOnlyList<string> nodes)
    {
        if (nodes.Count == 0)
            return;
        host.UseCluster(c =>
        {
            foreach (var node in nodes)
                c.Node(node);
        });
    }

    private static List<Action<IBusRegistrationConfigurator>> GetOrCreate(IHostApplicationBuilder builder)
    {
        if (builder.Properties.TryGetValue(RegistrationsKey, out var existing))
            return (List<Action<IBusRegistrationConfigurator>>)existing;
        var created = new List<Action<IBusRegistrationConfigurator>>();
        builder.Properties[RegistrationsKey] = created;
        return created;
    }
}
