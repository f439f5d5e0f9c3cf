using Decommission.Contracts;
using Decommission.DeviceProtocol;

namespace Decommission.Topology;

/// <summary>
/// Every process that talks through the broker, under the name of its broker user: what it sends (to which queue),
/// publishes and answers, and which queues it consumes with the messages each takes. The broker users' permissions,
/// the topology ops/up.sh declares, the compose definitions and the README's table are derived from this; tests check
/// the services' registrations against it. Nothing else describes who may send what.
/// </summary>
public static class BusCatalogue
{
    /// <summary>Raised by the orchestrator's deadline sweeper for itself; its type lives in the orchestrator, so it is named here.</summary>
    public static readonly MessageType RetirementDeadlineReached = new("Decommission.Orchestrator.Deadlines", "RetirementDeadlineReached");

    public static readonly BusProcess Orchestrator = new()
    {
        Name = "orchestrator",
        HasBusEndpoint = true,
        Description = "the retirement saga, status queries and campaigns",
        Consumes =
        [
            Queue(QueueNames.RetireDevice,
                M<RetireDevice>(), M<CancelRetirement>(), M<RetryRetirement>(), M<RecordPhysicalDestruction>(),
                M<RetirementAccepted>(), M<RetirementRefused>(), M<DeviceQuarantined>(), M<QuarantineRefused>(),
                M<ErasureVerified>(), M<ErasureRejected>(), M<IdentityRevoked>(), M<DisposalCertificateIssued>(),
                M<DisposalCertificateRefused>(), RetirementDeadlineReached),
            Queue(QueueNames.RetirementStatus, M<GetRetirementStatus>(), M<ListRetirements>(), M<CountRetirements>()),
            // Relayed by the certificates service for the people its API authenticated, and the end-of-life scheduler's batches.
            Queue(QueueNames.Campaigns, M<StartCampaign>(), M<ChangeCampaign>(), M<GetCampaign>(), M<ListCampaigns>()),
        ],
        Sends =
        [
            // A campaign's devices, each at its pace, to the saga's own queue through RetireDevice's exchange.
            new(M<RetireDevice>(), QueueNames.RetireDevice, ThroughTypeExchange: true),
            new(M<QuarantineDevice>(), QueueNames.QuarantineDevice, ThroughTypeExchange: true),
            new(M<EraseDevice>(), QueueNames.EraseDevice, ThroughTypeExchange: true),
            new(M<RevokeIdentity>(), QueueNames.RevokeIdentity, ThroughTypeExchange: true),
            new(M<IssueDisposalCertificate>(), QueueNames.IssueDisposalCertificate, ThroughTypeExchange: true),
        ],
        Publishes =
        [
            M<RetirementRequested>(), M<RetirementFailed>(), M<RetirementCancelled>(), M<RetirementRetried>(),
            M<PhysicalDestructionRecorded>(), M<DeviceDecommissioned>(), RetirementDeadlineReached,
        ],
        Responds =
        [
            M<RetirementSubmitted>(), M<RetirementCancelled>(), M<RetirementCommandRefused>(), M<RetirementRetried>(),
            M<RetirementNotFound>(), M<RetirementStatus>(), M<RetirementList>(), M<RetirementCounts>(),
            M<CampaignView>(), M<CampaignList>(), M<CampaignNotFound>(), M<CampaignCommandRefused>(),
        ],
    };

    /// <summary>The inventory and, in the same process with the same bus and user, the end-of-life scheduler.</summary>
    public static readonly BusProcess Inventory = new()
    {
        Name = "inventory",
        HasBusEndpoint = true,
        Description = "devices, legal holds, retirement confirmation, and the end-of-life scheduler: same process, same user",
        Consumes =
        [
            Queue(QueueNames.Inventory, M<ImportDevices>(), M<SetLegalHold>(), M<PreviewEndOfLife>(), M<SelectDevices>()),
            Queue(QueueNames.InventoryRetirements,
                M<RetirementRequested>(), M<DeviceDecommissioned>(), M<RetirementFailed>(), M<RetirementCancelled>(), M<RetirementRetried>()),
        ],
        // The end-of-life scheduler's daily batches, as campaigns (no answer asked), through StartCampaign's own exchange.
        Sends = [new(M<StartCampaign>(), QueueNames.Campaigns, ThroughTypeExchange: true)],
        Publishes = [M<RetirementAccepted>(), M<RetirementRefused>(), M<DeviceLegalHoldChanged>()],
        Responds = [M<DevicesImported>(), M<LegalHoldSet>(), M<EndOfLifePreview>(), M<SelectedDevices>()],
    };

    public static readonly BusProcess Credentials = new()
    {
        Name = "credentials",
        HasBusEndpoint = true,
        Description = "enrollment, quarantine, identity revocation and the CRL",
        Consumes =
        [
            Queue(QueueNames.EnrollDevice, M<EnrollDevice>(), M<EnrollDevicesFromCsv>()),
            Queue(QueueNames.CheckCredential, M<CheckCredential>()),
            Queue(QueueNames.QuarantineDevice, M<QuarantineDevice>()),
            Queue(QueueNames.RevokeIdentity, M<RevokeIdentity>()),
            Queue(QueueNames.CredentialsEvents, M<RetirementAccepted>()),
        ],
        // A request: the gateway answers DeviceIdentitiesRegistered.
        Sends = [new(M<RegisterDeviceIdentities>(), QueueNames.RegisterDeviceIdentities, Request: true, ThroughTypeExchange: true)],
        Publishes = [M<DeviceQuarantined>(), M<QuarantineRefused>(), M<IdentityRevoked>()],
        Responds = [M<DeviceEnrolled>(), M<DevicesEnrolled>(), M<EnrollmentRejected>(), M<CredentialChecked>()],
    };

    public static readonly BusProcess DeviceGateway = new()
    {
        Name = "device-gateway",
        HasBusEndpoint = true,
        Description = "signs erase commands for devices and verifies their receipts; owns the device channel",
        Consumes =
        [
            Queue(QueueNames.EraseDevice, M<EraseDevice>()),
            Queue(QueueNames.RegisterDeviceIdentities, M<RegisterDeviceIdentities>()),
            Queue(QueueNames.DeviceGatewayEvents, M<DeviceQuarantined>(), M<DeviceLegalHoldChanged>()),
        ],
        Publishes = [M<ErasureVerified>(), M<ErasureRejected>()],
        Responds = [M<DeviceIdentitiesRegistered>()],
        // The device channel: the AMQP side of the MQTT plugin, in the devices' virtual host (docs/device-protocol.md).
        DeviceVhost = DeviceVirtualHost.Gateway,
    };

    public static readonly BusProcess Certificates = new()
    {
        Name = "certificates",
        HasBusEndpoint = true,
        Description = "issues disposal certificates; records a two-person physical destruction; relays operators' campaign and retirement orders",
        Consumes = [Queue(QueueNames.IssueDisposalCertificate, M<IssueDisposalCertificate>())],
        Sends =
        [
            // After a destruction recorded through its API by two authenticated people.
            new(M<RecordPhysicalDestruction>(), QueueNames.RetireDevice, ThroughTypeExchange: true),
            // Campaign orders and queries of the people its API authenticated (their API key's name and id go with them).
            new(M<StartCampaign>(), QueueNames.Campaigns, Request: true, ThroughTypeExchange: true),
            new(M<ChangeCampaign>(), QueueNames.Campaigns, Request: true, ThroughTypeExchange: true),
            new(M<GetCampaign>(), QueueNames.Campaigns, Request: true, ThroughTypeExchange: true),
            new(M<ListCampaigns>(), QueueNames.Campaigns, Request: true, ThroughTypeExchange: true),
            // The operator page's retirements by state and one device's history (read only).
            new(M<GetRetirementStatus>(), QueueNames.RetirementStatus, Request: true, ThroughTypeExchange: true),
            new(M<CountRetirements>(), QueueNames.RetirementStatus, Request: true, ThroughTypeExchange: true),
            // One device retired, retried or cancelled from the operator page.
            new(M<RetireDevice>(), QueueNames.RetireDevice, Request: true, ThroughTypeExchange: true),
            new(M<CancelRetirement>(), QueueNames.RetireDevice, Request: true, ThroughTypeExchange: true),
            new(M<RetryRetirement>(), QueueNames.RetireDevice, Request: true, ThroughTypeExchange: true),
            // A campaign's selection, the end-of-life notice and its holds.
            new(M<SelectDevices>(), QueueNames.Inventory, Request: true, ThroughTypeExchange: true),
            new(M<PreviewEndOfLife>(), QueueNames.Inventory, Request: true, ThroughTypeExchange: true),
            new(M<SetLegalHold>(), QueueNames.Inventory, Request: true, ThroughTypeExchange: true),
        ],
        Publishes = [M<DisposalCertificateIssued>(), M<DisposalCertificateRefused>()],
    };

    /// <summary>The operator's <c>decom</c>: requests only; answers come to its own temporary endpoint.</summary>
    public static readonly BusProcess Operator = new()
    {
        Name = "operator",
        HasBusEndpoint = true,
        Description = "the operator's decom, or any AMQP client of theirs",
        Sends =
        [
            new(M<RetireDevice>(), QueueNames.RetireDevice, Request: true, ThroughTypeExchange: true),
            new(M<CancelRetirement>(), QueueNames.RetireDevice, Request: true, ThroughTypeExchange: true),
            new(M<RetryRetirement>(), QueueNames.RetireDevice, Request: true, ThroughTypeExchange: true),
            new(M<GetRetirementStatus>(), QueueNames.RetirementStatus, Request: true, ThroughTypeExchange: true),
            new(M<ListRetirements>(), QueueNames.RetirementStatus, Request: true, ThroughTypeExchange: true),
            new(M<CountRetirements>(), QueueNames.RetirementStatus, Request: true, ThroughTypeExchange: true),
            new(M<ImportDevices>(), QueueNames.Inventory, Request: true, ThroughTypeExchange: true),
            new(M<SetLegalHold>(), QueueNames.Inventory, Request: true, ThroughTypeExchange: true),
            new(M<PreviewEndOfLife>(), QueueNames.Inventory, Request: true, ThroughTypeExchange: true),
            new(M<EnrollDevice>(), QueueNames.EnrollDevice, Request: true, ThroughTypeExchange: true),
            new(M<EnrollDevicesFromCsv>(), QueueNames.EnrollDevice, Request: true, ThroughTypeExchange: true),
            new(M<CheckCredential>(), QueueNames.CheckCredential, Request: true, ThroughTypeExchange: true),
        ],
    };

    public static IReadOnlyList<BusProcess> Processes { get; } = [Orchestrator, Inventory, Credentials, DeviceGateway, Certificates, Operator];

    /// <summary>The processes that are services (a host under services/, a container in compose).</summary>
    public static IReadOnlyList<BusProcess> Services { get; } = [Orchestrator, Inventory, Credentials, DeviceGateway, Certificates];

    public static BusProcess Named(string name) =>
        Processes.SingleOrDefault(p => p.Name == name) ?? throw new ArgumentException($"no process {name} in the bus catalogue", nameof(name));

    /// <summary>Every message type the catalogue names, in a stable order.</summary>
    public static IReadOnlyList<MessageType> MessageTypes { get; } = Processes
        .SelectMany(p => p.Sends.Select(s => s.Message).Concat(p.Publishes).Concat(p.Responds).Concat(p.Consumes.SelectMany(q => q.Messages)))
        .Distinct().OrderBy(m => m.Name, StringComparer.Ordinal).ToList();

    /// <summary>The queues that take <paramref name="message"/>, with the process that consumes each.</summary>
    public static IEnumerable<(BusProcess Consumer, ConsumedQueue Queue)> QueuesTaking(MessageType message) =>
        Processes.SelectMany(p => p.Consumes.Where(q => q.Messages.Contains(message)).Select(q => (p, q)));

    /// <summary>Whether anyone writes <paramref name="message"/> to its type's exchange (publishes it, or sends it through that
    /// exchange); then the exchange is bound to the queues that take it.</summary>
    public static bool TravelsByTypeExchange(MessageType message) => Processes.Any(p => p.TypeExchanges.Contains(message));

    /// <summary>A RabbitMQ permission pattern (Erlang regular expression) matching exactly <paramref name="name"/>.</summary>
    public static string Exact(string name)
    {
        var escaped = new System.Text.StringBuilder();
        foreach (var c in name)
        {
            if (@"\^$.|?*+()[]{}".Contains(c, StringComparison.Ordinal))
                escaped.Append('\\');
            escaped.Append(c);
        }
        return escaped.ToString();
    }

    /// <summary>
    /// Every process names its MassTransit temporary endpoint (where its answers come) after its broker user:
    /// <c>user_bus_id</c> (Decommission.ServiceDefaults.SenderVerification.BusEndpointName), whatever its host is called.
    /// MassTransit's own name (host_process_bus_id, shortened past 72 characters) depends on the host's name.
    /// </summary>
    public const string TemporaryEndpointSuffix = "_bus_";

    /// <summary>The processes that send requests to a queue of <paramref name="responder"/>: it answers on their temporary endpoints.</summary>
    public static IEnumerable<BusProcess> RequestersOf(BusProcess responder) =>
        Processes.Where(p => p.Sends.Any(s => s.Request && responder.Consumes.Any(q => q.Name == s.Queue)));

    private static MessageType M<T>() => MessageType.Of<T>();

    private static ConsumedQueue Queue(string name, params MessageType[] messages) => new(name, messages);
}

/// <summary>A message type as MassTransit names it on the broker: its exchange is <c>Namespace:Name</c>.</summary>
public sealed record MessageType(string Namespace, string Name)
{
    public static MessageType Of<T>() => new(typeof(T).Namespace ?? "", typeof(T).Name);

    public string ExchangeName => $"{Namespace}:{Name}";

    public override string ToString() => Name;
}

/// <summary>
/// A command sent to a queue. MassTransit sends to <c>queue:{Queue}</c> through the exchange of the queue's name, and
/// declares and binds that queue on the way (the sender then needs configure, write and read on its name); a send
/// <paramref name="ThroughTypeExchange"/> goes to the command type's own exchange, which the broker's set-up binds to the
/// queue, and needs rights on that exchange only. A <paramref name="Request"/> is answered on the sender's temporary endpoint.
/// </summary>
public sealed record Send(MessageType Message, string Queue, bool Request = false, bool ThroughTypeExchange = false);

/// <summary>A queue a process consumes (a MassTransit receive endpoint) and the message types it takes.</summary>
public sealed record ConsumedQueue(string Name, IReadOnlyList<MessageType> Messages);

public sealed record BusProcess
{

    /// <summary>The process's broker user.</summary>
    public required string Name { get; init; }

    public required string Description { get; init; }

    /// <summary>Whether it has a MassTransit temporary endpoint (an exclusive queue and an exchange, made when it first sends a
    /// request), named after its user: see <see cref="BusEndpoint"/>.</summary>
    public bool HasBusEndpoint { get; init; }

    /// <summary>The pattern of its temporary endpoint's name, <c>user_bus_id</c>; null for a process without MassTransit.</summary>
    public string? BusEndpoint => HasBusEndpoint ? BusCatalogue.Exact(Name) + BusCatalogue.TemporaryEndpointSuffix + ".*" : null;

    public IReadOnlyList<ConsumedQueue> Consumes { get; init; } = [];

    public IReadOnlyList<Send> Sends { get; init; } = [];

    public IReadOnlyList<MessageType> Publishes { get; init; } = [];

    /// <summary>The message types whose own exchange it writes to: what it publishes, and what it sends through the type's exchange.</summary>
    public IEnumerable<MessageType> TypeExchanges => Publishes.Concat(Sends.Where(s => s.ThroughTypeExchange).Select(s => s.Message)).Distinct();

    /// <summary>The queues it sends to through their own exchange (MassTransit's <c>queue:</c> address).</summary>
    public IEnumerable<string> QueuesSentTo => Sends.Where(s => !s.ThroughTypeExchange).Select(s => s.Queue).Distinct();

    /// <summary>Answers to requests: they go to the requester's temporary endpoint, never to a shared exchange.</summary>
    public IReadOnlyList<MessageType> Responds { get; init; } = [];

    /// <summary>Its rights in the devices' virtual host (<see cref="DeviceVirtualHost"/>); null for none.</summary>
    public DeviceVhostAccess? DeviceVhost { get; init; }

    public override string ToString() => Name;
}
