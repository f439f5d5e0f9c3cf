using System.Text.RegularExpressions;

namespace Decommission.Deployment.Tests;

/// <summary>
/// The compose broker's configuration as RabbitMQ would read it from the files docker-compose.yml mounts: the
/// rabbitmq.conf settings of every file in conf.d/ (in name order, a later one winning), advanced.config and enabled_plugins.
/// </summary>
public sealed partial class ComposeFileBroker
{
    private const string ConfDirectory = "/etc/rabbitmq/conf.d/";

    private ComposeFileBroker(IReadOnlyDictionary<string, string> settings, string advancedConfig, IReadOnlyList<string> plugins)
    {
        Settings = settings;
        AdvancedConfig = advancedConfig;
        Plugins = plugins;
    }

    /// <summary>rabbitmq.conf keys and values (sysctl format), from the mounted conf.d files.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; }

    /// <summary>/etc/rabbitmq/advanced.config (Erlang terms), comments removed.</summary>
    public string AdvancedConfig { get; }

    /// <summary>The plugins of /etc/rabbitmq/enabled_plugins.</summary>
    public IReadOnlyList<string> Plugins { get; }

    public static ComposeFileBroker Of(ComposeFile compose)
    {
        var broker = compose.Broker;
        string? Mounted(string target) => broker.Volumes.Where(v => v.Target == target)
            .Select(v => Path.GetFullPath(Path.Combine(compose.Directory, v.Source))).SingleOrDefault();

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in broker.Volumes.Where(v => v.Target.StartsWith(ConfDirectory, StringComparison.Ordinal)).OrderBy(v => v.Target, StringComparer.Ordinal))
        {
            foreach (var line in File.ReadLines(Path.GetFullPath(Path.Combine(compose.Directory, file.Source))).Select(l => l.Trim()))
            {
                if (line.Length == 0 || line.StartsWith('#'))
                    continue;
                var equals = line.IndexOf('=');
                settings[line[..equals].Trim()] = line[(equals + 1)..].Trim();
            }
        }

        var advanced = Mounted("/etc/rabbitmq/advanced.config") is { } advancedPath
            ? string.Join('\n', File.ReadLines(advancedPath).Select(l => l.Split('%')[0]))
            : "";
        var plugins = Mounted("/etc/rabbitmq/enabled_plugins") is { } pluginsPath
            ? Word().Matches(File.ReadAllText(pluginsPath)).Select(m => m.Value).ToList()
            : [];
        return new ComposeFileBroker(settings, advanced, plugins);
    }

    /// <summary>The file paths advanced.config names (cacertfile, certfile, keyfile, the CRL directory).</summary>
    public IReadOnlyList<string> AdvancedConfigPaths => Quoted().Matches(AdvancedConfig).Select(m => m.Groups[1].Value).ToList();

    /// <summary>Whether advanced.config holds the Erlang tuple <c>{name, value}</c> (spacing aside).</summary>
    public bool HasOption(string name, string value) =>
        Regex.IsMatch(AdvancedConfig, $@"\{{\s*{Regex.Escape(name)}\s*,\s*{Regex.Escape(value)}\s*\}}");

    [GeneratedRegex("[a-z_]+")]
    private static partial Regex Word();

    [GeneratedRegex("\"([^\"]+)\"")]
    private static partial Regex Quoted();
}
