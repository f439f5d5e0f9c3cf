using System.ComponentModel;
using System.Reflection;
using Decommission.ServiceDefaults;

namespace Decommission.Deployment.Tests;

/// <summary>docker-compose.yml and services/Dockerfile against the service hosts as they are: no Docker engine runs here,
/// so what `docker compose up` would trip over is checked in the files.</summary>
public sealed class ComposeFileTests
{
    private readonly ComposeFile _compose = ComposeFile.Load();

    [Fact]
    public void The_repository_has_service_hosts_to_check() =>
        Assert.True(ServiceHost.All.Count >= 5, $"found only {string.Join(", ", ServiceHost.All)} under services/");

    [Theory]
    [MemberData(nameof(ServiceHost.Names), MemberType = typeof(ServiceHost))]
    public void Every_service_host_is_built_by_one_compose_service_from_the_repository_root(string name)
    {
        var host = ServiceHost.Named(name);
        var builders = _compose.Services.Values.Where(s => s.BuildArgs.GetValueOrDefault("SERVICE") == host.ServicesRelativeDirectory).ToList();
        Assert.True(builders.Count == 1,
            $"{host.Name}: expected one compose service with build arg SERVICE: {host.ServicesRelativeDirectory}, found {builders.Count}");
        var service = builders[0];

        var context = Path.GetFullPath(Path.Combine(_compose.Directory, service.BuildContext ?? "."));
        Assert.Equal(Repository.Root.TrimEnd('/'), context.TrimEnd('/'));
        var dockerfile = Path.Combine(context, service.Dockerfile ?? "Dockerfile");
        Assert.True(File.Exists(dockerfile), $"{service.Name}: no Dockerfile at {dockerfile}");
        var recipe = Dockerfile.Load(dockerfile);
        Assert.All(service.BuildArgs.Keys, arg => Assert.Contains(arg, recipe.DeclaredArgs));
        // The image runs <last path part>.dll: it must be the project's own assembly.
        Assert.Equal(host.Name, Path.GetFileName(service.BuildArgs["SERVICE"]));
    }

    [Fact]
    public void Every_compose_service_that_builds_builds_a_service_host()
    {
        var hosts = ServiceHost.All.Select(h => h.ServicesRelativeDirectory).ToHashSet();
        var stale = _compose.Services.Values
            .Where(s => s.BuildContext is not null && !hosts.Contains(s.BuildArgs.GetValueOrDefault("SERVICE") ?? ""))
            .Select(s => $"{s.Name} (SERVICE={s.BuildArgs.GetValueOrDefault("SERVICE")})")
            .ToList();
        Assert.True(stale.Count == 0, $"compose services building no service host: {string.Join(", ", stale)}");
    }

    [Theory]
    [MemberData(nameof(ServiceHost.Names), MemberType = typeof(ServiceHost))]
    public void Settings_with_no_usable_default_in_a_container_are_set_in_its_environment(string name)
    {
        var (host, service) = Built(name);
        var settings = ServiceSettings.Load(host, service.Environment);
        var problems = new List<string>();

        foreach (var options in settings.Options)
        {
            foreach (var property in options.Settings)
            {
                var variable = options.KeyOf(property).Replace(":", "__", StringComparison.Ordinal);
                var isSet = service.Environment.Keys.Any(k => string.Equals(k, variable, StringComparison.OrdinalIgnoreCase));
                var defaultValue = property.GetValue(options.Defaults);
                var value = property.GetValue(options.Bound);

                // A relative default lands in the image's /app: not writable by the app user, and on no volume.
                if (IsFileSetting(property) && defaultValue is string path && path.Length > 0 && !Path.IsPathRooted(path))
                {
                    if (!isSet)
                        problems.Add($"{variable} is not set (default '{path}' lies inside the image)");
                    else if (value is not string given || !OnNamedVolume(service, given))
                        problems.Add($"{variable}={value} is not on a named volume of {service.Name}");
                }

                // A loopback default reaches nothing from inside a container: it must name another compose service.
                if (property.PropertyType == typeof(Uri) && defaultValue is Uri { IsLoopback: true })
                {
                    if (!isSet)
                        problems.Add($"{variable} is not set (default {defaultValue} is this container itself)");
                    else if (value is not Uri uri || !_compose.Services.ContainsKey(uri.Host))
                        problems.Add($"{variable} points at {(value as Uri)?.Host}, which is no compose service");
                    else if (service.DependsOn.GetValueOrDefault(uri.Host) != "service_healthy")
                        problems.Add($"{service.Name} does not wait for {uri.Host} to be healthy (depends_on condition: service_healthy)");
                }
            }
        }

        // The services talk only through the broker: the in-memory transport would leave each one talking to itself.
        var bus = settings.Options.Single(o => o.Type == typeof(BusOptions));
        if (!service.Environment.ContainsKey($"{BusOptions.Section}__{nameof(BusOptions.Transport)}") || ((BusOptions)bus.Bound).Transport != BusTransport.RabbitMq)
            problems.Add($"{BusOptions.Section}__{nameof(BusOptions.Transport)} must be set to {BusTransport.RabbitMq}");

        Assert.True(problems.Count == 0, $"{service.Name}:\n  {string.Join("\n  ", problems)}");
    }

    [Theory]
    [MemberData(nameof(ServiceHost.Names), MemberType = typeof(ServiceHost))]
    public void Every_environment_key_is_a_setting_the_service_reads_and_takes(string name)
    {
        var (host, service) = Built(name);
        // Throws the service's own start-up refusal (OptionsValidationException) for a value it would not take.
        var settings = ServiceSettings.Load(host, service.Environment);
        var problems = new List<string>();

        foreach (var (variable, value) in service.Environment)
        {
            var key = ServiceSettings.ConfigurationKey(variable);
            // A list's item (Section:List:0) is bound by the list's setting.
            var (settingKey, index) = ListItem(key);
            if (!settings.Reads(key) && !(index is not null && settings.Find(settingKey) is var (_, list) && IsList(list.PropertyType)))
            {
                problems.Add($"{variable}: {host.Name} reads no setting {key} (not in its options classes nor its appsettings.json)");
                continue;
            }
            if (settings.Find(settingKey) is not var (options, property))
                continue;
            var bound = property.GetValue(options.Bound);
            var expected = Convert(value, property.PropertyType);
            if (index is { } i && IsList(property.PropertyType))
                (bound, expected) = (bound is System.Collections.IList items && i < items.Count ? items[i] : null, value);
            if (!Equals(Normalise(bound), Normalise(expected)))
                problems.Add($"{variable}={value} was bound as '{bound}'");
        }

        Assert.True(problems.Count == 0, $"{service.Name}:\n  {string.Join("\n  ", problems)}");
    }

    [Theory]
    [MemberData(nameof(ServiceHost.Names), MemberType = typeof(ServiceHost))]
    public void Every_service_has_a_healthcheck_that_runs_its_own_binary(string name)
    {
        var (host, service) = Built(name);
        var recipe = Dockerfile.Load(DockerfileOf(service));
        var workdir = recipe.FinalStage.Last(i => i.Keyword == "WORKDIR").Arguments;

        Assert.Equal(["CMD", "dotnet", $"{workdir.TrimEnd('/')}/{host.Name}.dll", HealthProbe.Command], service.HealthcheckTest);
        // The image checks itself too, wherever it runs without compose.
        var imageCheck = recipe.FinalStage.SingleOrDefault(i => i.Keyword == "HEALTHCHECK");
        Assert.NotNull(imageCheck);
        Assert.Contains($" {HealthProbe.Command}", imageCheck.Arguments, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ServiceHost.Names), MemberType = typeof(ServiceHost))]
    public void Every_service_keeps_its_data_on_a_named_volume_the_app_user_owns(string name)
    {
        var (_, service) = Built(name);
        var named = service.Volumes.Where(v => _compose.NamedVolumes.Contains(v.Source)).ToList();
        Assert.True(named.Count > 0, $"{service.Name} mounts no named volume (top-level volumes: {string.Join(", ", _compose.NamedVolumes)})");

        // A new named volume takes the owner of the image directory it is mounted on; root's would refuse the app user.
        var stage = Dockerfile.Load(DockerfileOf(service)).FinalStage.ToList();
        var user = stage.FindLastIndex(i => i.Keyword == "USER");
        Assert.True(user >= 0 && stage[user].Arguments is not ("root" or "0"), $"{service.Name}'s image runs as root");
        foreach (var mount in named)
        {
            Assert.True(stage.Take(user).Any(i => i.Keyword == "RUN" && Words(i.Arguments).Contains("chown") && Words(i.Arguments).Contains(mount.Target)),
                $"{service.Name} mounts {mount.Source} at {mount.Target}, which the image does not create and chown to its user before USER");
        }
    }

    [Fact]
    public void The_broker_is_RabbitMQ_with_its_management_plugin_and_a_healthcheck()
    {
        var broker = _compose.Broker;
        Assert.StartsWith("rabbitmq:", broker.Image, StringComparison.Ordinal);
        Assert.Contains("management", broker.Image, StringComparison.Ordinal);
        Assert.NotEmpty(broker.HealthcheckTest);
        Assert.Contains(broker.Volumes, v => _compose.NamedVolumes.Contains(v.Source));
    }

    [Theory]
    [MemberData(nameof(UserVariableNames))]
    public void Compose_refuses_to_start_without_each_password(string variable)
    {
        var others = ComposeFile.UserVariables.Where(v => v.Key != variable).ToDictionary();
        var refusal = Assert.Throws<InvalidOperationException>(() => ComposeFile.Load(Repository.ComposeFilePath, others));
        Assert.Contains(variable, refusal.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string> UserVariableNames() => [.. ComposeFile.UserVariables.Keys];

    private (ServiceHost Host, ComposeService Service) Built(string name)
    {
        var host = ServiceHost.Named(name);
        var service = _compose.Services.Values.FirstOrDefault(s => s.BuildArgs.GetValueOrDefault("SERVICE") == host.ServicesRelativeDirectory);
        Assert.True(service is not null, $"no compose service builds {host.Name}");
        return (host, service);
    }

    private string DockerfileOf(ComposeService service) =>
        Path.Combine(Path.GetFullPath(Path.Combine(_compose.Directory, service.BuildContext ?? ".")), service.Dockerfile ?? "Dockerfile");

    private bool OnNamedVolume(ComposeService service, string path) =>
        service.Volumes.Any(v => _compose.NamedVolumes.Contains(v.Source)
            && (path == v.Target || path.StartsWith(v.Target.TrimEnd('/') + "/", StringComparison.Ordinal)));

    private static bool IsFileSetting(PropertyInfo property) =>
        property.PropertyType == typeof(string) && (property.Name.EndsWith("Path", StringComparison.Ordinal) || property.Name.EndsWith("Directory", StringComparison.Ordinal));

    private static object? Convert(string value, Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target == typeof(string) || IsList(target) ? value : TypeDescriptor.GetConverter(target).ConvertFromInvariantString(value);
    }

    private static (string Key, int? Index) ListItem(string key) =>
        key.LastIndexOf(':') is var colon and > 0 && int.TryParse(key[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var index)
            ? (key[..colon], index)
            : (key, null);

    private static bool IsList(Type type) => type != typeof(string) && typeof(System.Collections.IList).IsAssignableFrom(type);

    // An empty string and an absent value configure the same thing; Uri equality would ignore the credentials.
    private static object? Normalise(object? value) => value switch
    {
        "" => null,
        Uri uri => uri.AbsoluteUri,
        _ => value,
    };

    private static string[] Words(string shell) => shell.Split([' ', '\t', '&', ';', '"', '\''], StringSplitOptions.RemoveEmptyEntries);
}
