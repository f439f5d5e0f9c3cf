using System.CommandLine;

namespace Decommission.Cli;

/// <summary>Where the services are: each setting from its flag, else its environment variable, else the local default.</summary>
/// <param name="BrokerCa">PEM file of the CA an amqps:// broker's certificate must chain to; null: the system's trust store.</param>
/// <param name="BrokerNodes">A cluster's nodes (host:port), tried in turn with the broker address's user and TLS; empty: its host alone.</param>
public sealed record CliSettings(Uri Broker, Uri Api, string? ApiKey, TimeSpan Timeout, string? BrokerCa = null, IReadOnlyList<string>? BrokerNodes = null)
{
    public const string BrokerVariable = "DECOM_BROKER";
    public const string BrokerNodesVariable = "DECOM_BROKER_NODES";
    public const string BrokerCaVariable = "DECOM_BROKER_CA";
    public const string ApiVariable = "DECOM_API";
    public const string ApiKeyVariable = "DECOM_API_KEY";
    public static readonly Uri DefaultBroker = new("amqp://guest:guest@127.0.0.1:5672/");
    public static readonly Uri DefaultApi = new("http://127.0.0.1:8082/");

    /// <summary>The options every command takes (recursive on the root command).</summary>
    public sealed class Options
    {
        public Option<string> Broker { get; } = new("--broker")
        {
            Description = $"RabbitMQ address, amqp://user:password@host:port/vhost [env {BrokerVariable}, default {Display(DefaultBroker)}]",
            HelpName = "uri",
            Recursive = true,
        };

        public Option<string> BrokerCa { get; } = new("--broker-ca")
        {
            Description = $"CA certificate (PEM) an amqps:// broker must present a certificate from [env {BrokerCaVariable}]",
            HelpName = "file",
            Recursive = true,
        };

        public Option<string> Api { get; } = new("--api")
        {
            Description = $"certificates API address [env {ApiVariable}, default {DefaultApi}]",
            HelpName = "url",
            Recursive = true,
        };

        public Option<string> ApiKey { get; } = new("--api-key")
        {
            Description = $"key for the certificates API, sent as X-Api-Key [env {ApiKeyVariable}]",
            HelpName = "key",
            Recursive = true,
        };

        public Option<int> Timeout { get; } = new("--timeout")
        {
            Description = "seconds to wait for a service's answer",
            HelpName = "seconds",
            DefaultValueFactory = _ => 30,
            Recursive = true,
        };

        public Options() =>
            Timeout.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() is < 1 or > 3600)
                    result.AddError("--timeout must be between 1 and 3600 seconds.");
            });

        public Option<string> BrokerNodes { get; } = new("--broker-nodes")
        {
            Description = $"a broker cluster's nodes, host:port,host:port,… (decom connects to the first that answers) [env {BrokerNodesVariable}]",
            HelpName = "nodes",
            Recursive = true,
        };

        public IEnumerable<Option> All => [Broker, BrokerCa, BrokerNodes, Api, ApiKey, Timeout];
    }

    public static CliSettings Resolve(ParseResult parse, Options options, Func<string, string?> environment)
    {
        var broker = Pick(parse.GetValue(options.Broker), environment(BrokerVariable));
        var api = Pick(parse.GetValue(options.Api), environment(ApiVariable));
        var brokerCa = Pick(parse.GetValue(options.BrokerCa), environment(BrokerCaVariable));
        if (brokerCa is not null && !File.Exists(brokerCa))
            throw new CliFailure(ExitCodes.Usage, $"--broker-ca (or {BrokerCaVariable}): {brokerCa} does not exist.");
        IReadOnlyList<string> nodes;
        try
        {
            nodes = ServiceDefaults.BrokerClusterOptions.ParseNodes(Pick(parse.GetValue(options.BrokerNodes), environment(BrokerNodesVariable)));
        }
        catch (FormatException)
        {
            throw new CliFailure(ExitCodes.Usage, $"--broker-nodes (or {BrokerNodesVariable}) must be host:port,host:port,…");
        }
        return new CliSettings(
            broker is null ? DefaultBroker : ParseUri(broker, "--broker", BrokerVariable, "amqp", "amqps"),
            api is null ? DefaultApi : ParseUri(api, "--api", ApiVariable, "http", "https"),
            Pick(parse.GetValue(options.ApiKey), environment(ApiKeyVariable)),
            TimeSpan.FromSeconds(parse.GetValue(options.Timeout)),
            brokerCa,
            nodes);
    }

    /// <summary>An address fit to print: no user name, no password.</summary>
    public static string Display(Uri uri) => new UriBuilder(uri) { UserName = "", Password = "" }.Uri.ToString();

    private static string? Pick(string? flag, string? variable) =>
        !string.IsNullOrWhiteSpace(flag) ? flag.Trim() : !string.IsNullOrWhiteSpace(variable) ? variable.Trim() : null;

    private static Uri ParseUri(string value, string flag, string variable, params string[] schemes)
    {
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && schemes.Contains(uri.Scheme))
            return uri;
        // Never echo the value: a broker address carries its password.
        throw new CliFailure(ExitCodes.Usage, $"{flag} (or {variable}) must be an absolute {string.Join(" or ", schemes.Select(s => s + "://"))} address.");
    }
}
