using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Decommission.Deployment.Tests;

/// <summary>One bound options class of a service: its configuration section, the defaults it has without configuration,
/// and the value the service would run with.</summary>
public sealed record BoundOptions(Type Type, string Section, object Defaults, object Bound)
{
    public IEnumerable<PropertyInfo> Settings =>
        Type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0);

    public string KeyOf(PropertyInfo property) => $"{Section}:{property.Name}";
}

/// <summary>
/// What a service host reads from configuration, found by running its own registrations: every <c>builder.AddXxx()</c>
/// its Program.cs calls is invoked on a fresh builder configured as the container would be (appsettings.json, then the
/// environment), and every options class bound to configuration (<c>BindConfiguration</c>) is resolved, validation included.
/// </summary>
public sealed class ServiceSettings
{
    private ServiceSettings(IReadOnlyList<BoundOptions> options, IReadOnlySet<string> appSettingsKeys)
    {
        Options = options;
        AppSettingsKeys = appSettingsKeys;
    }

    public IReadOnlyList<BoundOptions> Options { get; }

    /// <summary>Every leaf key of the host's appsettings.json ("Section:Key").</summary>
    public IReadOnlySet<string> AppSettingsKeys { get; }

    /// <summary>Binds the host's settings from appsettings.json and the given environment (Section__Key, as the container gets it).</summary>
    /// <exception cref="OptionsValidationException">a setting the service would refuse at start-up</exception>
    public static ServiceSettings Load(ServiceHost host, IReadOnlyDictionary<string, string> environment)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = Environments.Production });
        builder.Configuration
            .AddJsonFile(host.AppSettingsPath, optional: false)
            .AddInMemoryCollection(environment.Select(e => KeyValuePair.Create(ConfigurationKey(e.Key), (string?)e.Value)));

        foreach (var registration in host.RegistrationCalls().Select(FindRegistration))
            Call(() => registration.Invoke(null, [builder]));

        var optionTypes = builder.Services
            .Where(d => d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() == typeof(IOptionsChangeTokenSource<>))
            .Select(d => d.ServiceType.GetGenericArguments()[0])
            .Where(IsOurs)
            .Distinct()
            .ToList();

        using var services = builder.Services.BuildServiceProvider();
        var options = optionTypes.Select(type =>
        {
            var section = type.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string
                ?? throw new InvalidOperationException($"{type.FullName} is bound from configuration but declares no `public const string Section`.");
            var accessor = typeof(IOptions<>).MakeGenericType(type);
            var bound = Call(() => accessor.GetProperty(nameof(IOptions<object>.Value))!.GetValue(services.GetRequiredService(accessor))!);
            return new BoundOptions(type, section, Activator.CreateInstance(type)!, bound);
        }).ToList();

        return new ServiceSettings(options, AppSettingsKeysOf(host.AppSettingsPath));
    }

    /// <summary>The environment variable's configuration key, as .NET reads it (Section__Key → Section:Key).</summary>
    public static string ConfigurationKey(string environmentVariable) => environmentVariable.Replace("__", ":", StringComparison.Ordinal);

    /// <summary>The options setting this configuration key binds, if any.</summary>
    public (BoundOptions Options, PropertyInfo Property)? Find(string key) =>
        Options.SelectMany(o => o.Settings.Select(p => (Options: o, Property: p)))
            .Cast<(BoundOptions, PropertyInfo)?>()
            .FirstOrDefault(s => string.Equals(s!.Value.Item1.KeyOf(s.Value.Item2), key, StringComparison.OrdinalIgnoreCase));

    public bool Reads(string key) =>
        Find(key) is not null || AppSettingsKeys.Contains(key, StringComparer.OrdinalIgnoreCase);

    // The exception the service itself would throw, not reflection's wrapper.
    private static T Call<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    private static bool IsOurs(Type type) => type.Assembly.GetName().Name!.StartsWith("Decommission.", StringComparison.Ordinal);

    private static MethodInfo FindRegistration(string name)
    {
        var candidates = OurAssemblies.Value
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t.IsAbstract && t.IsSealed)
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.Name == name && m.GetParameters() is [var only] && only.ParameterType == typeof(IHostApplicationBuilder))
            .ToList();
        return candidates switch
        {
            [var one] => one,
            [] => throw new InvalidOperationException(
                $"Program.cs calls builder.{name}(), which no referenced assembly defines: add its project to Decommission.Deployment.Tests.csproj."),
            _ => throw new InvalidOperationException($"builder.{name}() is defined more than once: {string.Join(", ", candidates.Select(c => c.DeclaringType))}."),
        };
    }

    // The service components this project references (they sit beside the test assembly).
    private static readonly Lazy<IReadOnlyList<Assembly>> OurAssemblies = new(() =>
        [.. Directory.EnumerateFiles(AppContext.BaseDirectory, "Decommission.*.dll")
            .Select(path => Assembly.Load(AssemblyName.GetAssemblyName(path)))
            .Where(a => a != typeof(ServiceSettings).Assembly)]);

    private static HashSet<string> AppSettingsKeysOf(string path)
    {
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        Collect(document.RootElement, "");
        return keys;

        void Collect(JsonElement element, string prefix)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                        Collect(property.Value, prefix.Length == 0 ? property.Name : $"{prefix}:{property.Name}");
                    break;
                case JsonValueKind.Array:
                    var i = 0;
                    foreach (var item in element.EnumerateArray())
                        Collect(item, $"{prefix}:{i++}");
                    break;
                default:
                    keys.Add(prefix);
                    break;
            }
        }
    }
}
