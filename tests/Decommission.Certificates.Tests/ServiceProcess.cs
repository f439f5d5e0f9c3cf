using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Decommission.Certificates.Tests;

/// <summary>
/// The certificates service's own host (Decommission.Certificates.Service) in a child process on 127.0.0.1, with the
/// in-memory bus and a temp data directory: for what only a process of its own shows, such as its memory.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Dictionary<string, string> _environment;

    private ServiceProcess(Process process, Dictionary<string, string> environment, Uri baseAddress)
    {
        _process = process;
        _environment = environment;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<ServiceProcess> StartAsync()
    {
        var data = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
        using var evidence = new EvidenceFactory();
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
        var process = Process.Start(Start(environment))!;
        var service = new ServiceProcess(process, environment, new Uri($"http://127.0.0.1:{port}/"));
        using var client = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            await Eventually.True(async () =>
            {
                if (process.HasExited)
                    throw new Xunit.Sdk.XunitException($"the certificates service exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
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
        using var command = Process.Start(Start(_environment, "create-api-key", "--name", $"{role}-memory", "--role", role))!;
        var key = await command.StandardOutput.ReadToEndAsync();
        await command.WaitForExitAsync();
        Assert.True(command.ExitCode == 0, await command.StandardError.ReadToEndAsync());
        return key.Trim();
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
