using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Decommission.Deployment.Tests;

/// <summary>docker-compose.yml as Compose reads it: services, their build, environment (interpolated), volumes,
/// health check and dependencies, and the named volumes. <see cref="Services"/> are those a <c>docker compose up</c> runs: with
/// no profile given, the services that have none; with a profile, theirs and the profile's, less those scaled to zero
/// (<c>deploy.replicas: 0</c>). YAML merge keys (<c>&lt;&lt;: *anchor</c>) are applied.</summary>
public sealed partial class ComposeFile
{
    private ComposeFile(string directory, IReadOnlyDictionary<string, ComposeService> services, IReadOnlySet<string> namedVolumes)
    {
        Directory = directory;
        Services = services;
        NamedVolumes = namedVolumes;
    }

    /// <summary>Where relative paths in the file start (Compose's project directory).</summary>
    public string Directory { get; }

    public IReadOnlyDictionary<string, ComposeService> Services { get; }

    /// <summary>The top-level <c>volumes:</c>.</summary>
    public IReadOnlySet<string> NamedVolumes { get; }

    /// <summary>The broker: the one service every service's <c>Bus__RabbitMqUri</c> names.</summary>
    public ComposeService Broker =>
        Services[Services.Values.Select(s => s.Environment.GetValueOrDefault("Bus__RabbitMqUri")).OfType<string>()
            .Select(uri => new Uri(uri).Host).Distinct().Single()];

    /// <summary>The services that mount named volume <paramref name="volume"/>.</summary>
    public IEnumerable<ComposeService> Mounting(string volume) => Services.Values.Where(s => s.Volumes.Any(v => v.Source == volume));

    /// <summary>The variables a user sets (docs/deployment.md) before <c>docker compose up</c>; everything else takes its default.</summary>
    public static IReadOnlyDictionary<string, string> UserVariables { get; } = new Dictionary<string, string>
    {
        ["RABBITMQ_PASSWORD"] = "s3cretPassw0rd",
        // Each service's own broker user (the bus catalogue's).
        ["ORCHESTRATOR_BROKER_PASSWORD"] = "orchestratorPassw0rd",
        ["INVENTORY_BROKER_PASSWORD"] = "inventoryPassw0rd",
        ["CREDENTIALS_BROKER_PASSWORD"] = "credentialsPassw0rd",
        ["DEVICE_GATEWAY_BROKER_PASSWORD"] = "gatewayPassw0rd",
        ["CERTIFICATES_BROKER_PASSWORD"] = "certificatesPassw0rd",
        // The credentials service's management user (devices' broker identities).
        ["CREDENTIALS_DEVICES_BROKER_PASSWORD"] = "credentialsDevicesPassw0rd",
        // Protects the fleet CA PFX the pki step makes for the credentials service.
        ["FLEET_CA_PFX_PASSWORD"] = "fleetCaPfxPassw0rd",
    };

    public static ComposeFile Load() => Load(Repository.ComposeFilePath, UserVariables);

    /// <summary>The cluster profile as docs/deployment.md runs it: its variables too, and the single node's services scaled to 0.</summary>
    public static ComposeFile LoadCluster() => Load(Repository.ComposeFilePath, ClusterVariables, ClusterProfile);

    public const string ClusterProfile = "cluster";

    /// <summary>What the cluster profile needs besides <see cref="UserVariables"/> (docs/deployment.md).</summary>
    public static IReadOnlyDictionary<string, string> ClusterVariables { get; } = new Dictionary<string, string>(UserVariables)
    {
        ["SINGLE_NODE_REPLICAS"] = "0",
        ["POSTGRES_PASSWORD"] = "postgresPassw0rd",
        ["SIGNING_PFX_PASSWORD"] = "signingPfxPassw0rd",
        ["BROKER_HOSTNAMES"] = "rabbitmq-1 rabbitmq-2 rabbitmq-3",
    };

    public static ComposeFile Load(string path, IReadOnlyDictionary<string, string> variables, string? profile = null)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path))
            stream.Load(reader);
        var root = (YamlMappingNode)stream.Documents.Single().RootNode;

        string Interpolated(string value) => Interpolate(value, variables);
        var services = Mapping(root, "services")?.Children
            .Select(entry => (Name: Scalar(entry.Key), Node: Merged((YamlMappingNode)entry.Value)))
            .Where(service => Runs(service.Node, profile, Interpolated))
            .ToDictionary(service => service.Name, service => ComposeService.From(service.Name, service.Node, Interpolated))
            ?? [];
        var volumes = Mapping(root, "volumes")?.Children.Keys.Select(Scalar).ToHashSet() ?? [];
        return new ComposeFile(Path.GetDirectoryName(Path.GetFullPath(path))!, services, volumes);
    }

    /// <summary>Compose's variable substitution: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR.</summary>
    public static string Interpolate(string value, IReadOnlyDictionary<string, string> variables) =>
        Variable().Replace(value, match =>
        {
            if (match.Value == "$$")
                return "$";
            var name = match.Groups["name"].Success ? match.Groups["name"].Value : match.Groups["bare"].Value;
            var set = variables.TryGetValue(name, out var given);
            var op = match.Groups["op"].Value;
            var argument = match.Groups["arg"].Value;
            var usable = op.StartsWith(':') ? !string.IsNullOrEmpty(given) : set;
            return op switch
            {
                ":-" or "-" => usable ? given! : argument,
                ":?" or "?" => usable ? given! : throw new InvalidOperationException($"Compose refuses to start: ${{{name}}}: {argument}"),
                _ => given ?? "",
            };
        });

    internal static YamlMappingNode? Mapping(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? Merged((YamlMappingNode)value) : null;

    /// <summary>The mapping with its merge key applied: the entries of the mapping (or mappings) <c>&lt;&lt;</c> names that it
    /// does not set itself, as YAML 1.1 and Compose read it.</summary>
    internal static YamlMappingNode Merged(YamlMappingNode node)
    {
        if (!node.Children.TryGetValue(new YamlScalarNode("<<"), out var merge))
            return node;
        var merged = new YamlMappingNode();
        foreach (var (key, value) in node.Children.Where(e => Scalar(e.Key) != "<<"))
            merged.Add(key, value);
        var sources = merge is YamlSequenceNode many ? many.Children.Cast<YamlMappingNode>() : [(YamlMappingNode)merge];
        foreach (var source in sources.Select(Merged))
            foreach (var (key, value) in source.Children.Where(e => !merged.Children.ContainsKey(e.Key)))
                merged.Add(key, value);
        return merged;
    }

    /// <summary>Whether <c>docker compose [--profile P] up</c> runs the service: its profiles, and not scaled to zero.</summary>
    private static bool Runs(YamlMappingNode service, string? profile, Func<string, string> interpolate)
    {
        var profiles = (Child(service, "profiles") as YamlSequenceNode)?.Children.Select(Scalar).ToList() ?? [];
        if (profiles.Count > 0 && (profile is null || !profiles.Contains(profile)))
            return false;
        return Mapping(service, "deploy") is not { } deploy || Child(deploy, "replicas") is not { } replicas || interpolate(Scalar(replicas)) != "0";
    }

    internal static YamlNode? Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    internal static string Scalar(YamlNode node) => ((YamlScalarNode)node).Value ?? "";

    [GeneratedRegex(@"\$\$|\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?<op>:?[-?])(?<arg>[^}]*))?\}|\$(?<bare>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Variable();
}

public sealed record VolumeMount(string Source, string Target, bool ReadOnly = false);

/// <summary>A published port: <c>[address:]published:container</c>; address null when published on every interface.</summary>
public sealed record PortMapping(string? HostAddress, string Published, int ContainerPort)
{
    internal static PortMapping Parse(string text) => text.Split(':') switch
    {
        [var container] => new PortMapping(null, "", ContainerNumber(container)),
        [var published, var container] => new PortMapping(null, published, ContainerNumber(container)),
        [var address, var published, var container] => new PortMapping(address, published, ContainerNumber(container)),
        _ => throw new InvalidOperationException($"unreadable port mapping '{text}'"),
    };

    private static int ContainerNumber(string port) => int.Parse(port.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture);
}

public sealed record ComposeService(
    string Name,
    string? Image,
    string? BuildContext,
    string? Dockerfile,
    IReadOnlyDictionary<string, string> BuildArgs,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyList<VolumeMount> Volumes,
    IReadOnlyList<string> HealthcheckTest,
    IReadOnlyDictionary<string, string> DependsOn,
    IReadOnlyList<PortMapping> Ports,
    string? Hostname = null)
{
    internal static ComposeService From(string name, YamlMappingNode node, Func<string, string> interpolate)
    {
        string? context = null, dockerfile = null;
        var args = new Dictionary<string, string>();
        switch (ComposeFile.Child(node, "build"))
        {
            case YamlScalarNode shortBuild:
                context = interpolate(shortBuild.Value ?? "");
                break;
            case YamlMappingNode build:
                context = ComposeFile.Child(build, "context") is { } c ? interpolate(ComposeFile.Scalar(c)) : ".";
                dockerfile = ComposeFile.Child(build, "dockerfile") is { } d ? interpolate(ComposeFile.Scalar(d)) : null;
                args = KeyValues(ComposeFile.Child(build, "args"), interpolate);
                break;
        }

        var volumes = (ComposeFile.Child(node, "volumes") as YamlSequenceNode)?.Children.Select(volume => volume switch
        {
            YamlScalarNode shortSyntax => interpolate(shortSyntax.Value ?? "").Split(':') switch
            {
                [var source, var target] => new VolumeMount(source, target),
                [var source, var target, var mode] => new VolumeMount(source, target, mode.Split(',').Contains("ro")),
                _ => new VolumeMount("", interpolate(shortSyntax.Value ?? "")),
            },
            YamlMappingNode longSyntax => new VolumeMount(
                ComposeFile.Child(longSyntax, "source") is { } s ? interpolate(ComposeFile.Scalar(s)) : "",
                interpolate(ComposeFile.Scalar(ComposeFile.Child(longSyntax, "target")!)),
                ComposeFile.Child(longSyntax, "read_only") is { } ro && ComposeFile.Scalar(ro) == "true"),
            _ => throw new InvalidOperationException($"{name}: unreadable volume entry"),
        }).ToList() ?? [];

        var test = ComposeFile.Mapping(node, "healthcheck") is { } health && ComposeFile.Child(health, "test") is { } t
            ? t switch
            {
                YamlSequenceNode words => words.Children.Select(ComposeFile.Scalar).ToList(),
                YamlScalarNode shell => ["CMD-SHELL", ComposeFile.Scalar(shell)],
                _ => [],
            }
            : [];

        var dependsOn = ComposeFile.Child(node, "depends_on") switch
        {
            YamlSequenceNode names => names.Children.ToDictionary(ComposeFile.Scalar, _ => "service_started"),
            YamlMappingNode conditions => conditions.Children.ToDictionary(
                entry => ComposeFile.Scalar(entry.Key),
                entry => ComposeFile.Child((YamlMappingNode)entry.Value, "condition") is { } condition ? ComposeFile.Scalar(condition) : "service_started"),
            _ => [],
        };

        var ports = (ComposeFile.Child(node, "ports") as YamlSequenceNode)?.Children
            .Select(port => PortMapping.Parse(interpolate(ComposeFile.Scalar(port)))).ToList() ?? [];
        var image = ComposeFile.Child(node, "image") is { } i ? interpolate(ComposeFile.Scalar(i)) : null;
        var hostname = ComposeFile.Child(node, "hostname") is { } h ? interpolate(ComposeFile.Scalar(h)) : null;
        return new ComposeService(name, image, context, dockerfile, args, KeyValues(ComposeFile.Child(node, "environment"), interpolate), volumes, test, dependsOn,
            ports, hostname);
    }

    // Both forms Compose takes: a mapping (KEY: value) or a list (- KEY=value).
    private static Dictionary<string, string> KeyValues(YamlNode? node, Func<string, string> interpolate) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(e => ComposeFile.Scalar(e.Key), e => interpolate(ComposeFile.Scalar(e.Value))),
        YamlSequenceNode list => list.Children.Select(ComposeFile.Scalar).Select(item => item.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv.Length == 2 ? interpolate(kv[1]) : ""),
        _ => [],
    };
}
