using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Decommission.Certificates.Tests;

/// <summary>
/// The certificates service's own host (Decommission.Certificates.Service) in a child process on 127.0.0.1, with a data
/// directory of its own (kept across restarts): for what only a process of its own shows, such as its memory, or what a
/// kill -9 leaves. In-memory bus unless the settings name another.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Dictionary<string, string> _environment;
    private readonly ConcurrentQueue<string> _output = new();

    private ServiceProcess(Process process, Dictionary<string, string> environment, Uri baseAddress, string dataDirectory)
    {
        _process = process;
        _environment = environment;
        BaseAddress = baseAddress;
        DataDirectory = dataDirectory;
    }

    public Uri BaseAddress { get; }

    public string DataDirectory { get; }

    /// <summary>What it wrote to standard output and error so far, line by line.</summary>
    public IReadOnlyCollection<string> Output => _output;

    /// <summary>A service over a new temp data directory, trusting a fleet CA and gateway key of its own.</summary>
    public static async Task<ServiceProcess> StartAsync()
    {
        var data = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
        using var evidence = new EvidenceFactory();
        return await StartAsync(data, evidence);
    }

    /// <summary>A service over <paramref name="data"/> (started again over what an earlier process left there), trusting
    /// <paramref name="evidence"/>'s fleet CA and gateway key; <paramref name="settings"/> as environment variables (Section__Key).</summary>
    public static async Task<ServiceProcess> StartAsync(string data, EvidenceFactory evidence, IReadOnlyDictionary<string, string>? settings = null)
    {
        var (fleetCa, commandKey) = evidence.WriteTrustFiles(Path.Combine(data, "trust"));
        var port = FreePort();
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Bus__Transport"] = "InMemory",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Certificates__DatabasePath"] = Path.Combine(data, "certificates.db"),
            ["Certificates__DataDirectory"] = data,
            ["Certificates__FleetCaCertificatePath"] = fleetCa,
            ["Certificates__CommandSigningPublicKeyPath"] = commandKey,
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
            environment[name] = value;
        var process = new Process { StartInfo = Start(environment), EnableRaisingEvents = true };
        var service = new ServiceProcess(process, environment, new Uri($"http://127.0.0.1:{port}/"), data);
        // Read as it comes: an unread pipe fills and blocks the service's logging.
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) service._output.Enqueue(line.Data); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) service._output.Enqueue(line.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            await Eventually.True(async () =>
            {
                if (process.HasExited)
                    throw new Xunit.Sdk.XunitException($"the certificates service exited with {process.ExitCode}:\n{string.Join('\n', service._output)}");
                try
                {
                    return (await client.GetAsync("/health")).IsSuccessStatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            }, "the certificates service to answer /health", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    /// <summary>Its own create-api-key command, against its database.</summary>
    public async Task<string> CreateApiKeyAsync(string role)
    {
        var created = await ChildProcess.RunAsync(Start(_environment, "create-api-key", "--name", $"{role}-{Guid.NewGuid():N}"[..16], "--role", role),
            TimeSpan.FromSeconds(60));
        Assert.True(created.ExitCode == 0, created.Error);
        return created.Output.Trim();
    }

    /// <summary>Waits until <paramref name="count"/> lines of its output contain <paramref name="text"/>; those lines.</summary>
    public Task<List<string>> WaitForOutputAsync(string text, int count = 1, TimeSpan? timeout = null) =>
        Eventually.Get(() =>
            {
                if (_process.HasExited)
                    throw new Xunit.Sdk.XunitException($"the certificates service exited with {_process.ExitCode}:\n{string.Join('\n', _output)}");
                return _output.Where(line => line.Contains(text, StringComparison.Ordinal)).ToList();
            }, lines => lines.Count >= count, $"{count} line(s) of the service's output with \"{text}\"", timeout ?? TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(50), lines => $"{lines.Count} such line(s); output:\n{string.Join('\n', _output)}");

    /// <summary>SIGKILL: the process ends where it is, with no shutdown of any kind.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
        Assert.Equal(137, _process.ExitCode);
    }

    public long WorkingSet()
    {
        _process.Refresh();
        return _process.WorkingSet64;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private static ProcessStartInfo Start(Dictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(ServiceAssembly());
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        return start;
    }

    /// <summary>Built beside this project's output (the test project references the host project for that).</summary>
    private static string ServiceAssembly()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory); // tests/Decommission.Certificates.Tests/bin/<Configuration>/<tfm>/
        var (configuration, framework) = (here.Parent!.Name, here.Name);
        var path = Path.Combine(ExternalTool.RepositoryRoot, "services", "Certificates", "Decommission.Certificates.Service", "bin", configuration, framework, "Decommission.Certificates.Service.dll");
        return File.Exists(path) ? path : throw new Xunit.Sdk.XunitException($"the certificates service host is not built at {path}");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
