using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Decommission.Testing;

namespace Decommission.Deployment.Tests;

/// <summary>A service host project (<c>services/**/Decommission.*.Service.csproj</c>) as found in the repository.</summary>
public sealed partial record ServiceHost(string ProjectPath)
{
    /// <summary>The project name, which is also the assembly the image runs (the Dockerfile runs <c>&lt;name&gt;.dll</c>).</summary>
    public string Name => Path.GetFileNameWithoutExtension(ProjectPath);

    public string Directory => Path.GetDirectoryName(ProjectPath)!;

    /// <summary>The directory under <c>services/</c>, as the Dockerfile's SERVICE build argument names it.</summary>
    public string ServicesRelativeDirectory => Path.GetRelativePath(Path.Combine(Repository.Root, "services"), Directory).Replace('\\', '/');

    public string AppSettingsPath => Path.Combine(Directory, "appsettings.json");

    public string BuiltAssemblyPath =>
        Path.Combine(Directory, "bin", Repository.BuildMetadata("Configuration"), Repository.BuildMetadata("TargetFramework"), Name + ".dll");

    /// <summary>Every host the repository has, by name.</summary>
    public static IReadOnlyList<ServiceHost> All { get; } =
        [.. System.IO.Directory.EnumerateFiles(Path.Combine(Repository.Root, "services"), "Decommission.*.Service.csproj", SearchOption.AllDirectories)
            .Where(path => !path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Select(path => new ServiceHost(path))
            .OrderBy(host => host.Name, StringComparer.Ordinal)];

    public static TheoryData<string> Names => [.. All.Select(host => host.Name)];

    public static ServiceHost Named(string name) => All.Single(host => host.Name == name);

    /// <summary>The <c>builder.AddXxx()</c> calls of the host's Program.cs, in order: what it registers.</summary>
    public IReadOnlyList<string> RegistrationCalls() =>
        [.. BuilderCall().Matches(File.ReadAllText(Path.Combine(Directory, "Program.cs"))).Select(m => m.Groups[1].Value)];

    /// <summary>The assemblies of the projects the host references (its service's components).</summary>
    public IReadOnlyList<string> ReferencedAssemblyNames() =>
        [.. XDocument.Load(ProjectPath).Descendants("ProjectReference")
            .Select(reference => Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value))];

    public override string ToString() => Name;

    [GeneratedRegex(@"\bbuilder\.(Add\w+)\(\s*\)")]
    private static partial Regex BuilderCall();
}

public static class Repository
{
    public static string Root => ExternalTool.RepositoryRoot;

    public static string ComposeFilePath => Path.Combine(Root, "docker-compose.yml");

    /// <summary>A build property of this test assembly (see the csproj): the service hosts are built the same way.</summary>
    public static string BuildMetadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
