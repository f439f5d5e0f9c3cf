using System.Diagnostics;
using Decommission.Testing;
using System.Net;
using System.Net.Sockets;
using Decommission.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decommission.Deployment.Tests;

/// <summary>The container health check: <c>dotnet &lt;service&gt;.dll healthcheck</c> asks the running service for /health.</summary>
public sealed class HealthProbeTests
{
    private static readonly TimeSpan QuickEnough = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("http://+:8080", null, "http://127.0.0.1:8080/health")]
    [InlineData("http://*:8080", "9090", "http://127.0.0.1:8080/health")]            // urls wins over http_ports, as in Kestrel
    [InlineData("https://+:8443;http://0.0.0.0:5005", null, "http://127.0.0.1:5005/health")]
    [InlineData("http://localhost:5010", null, "http://127.0.0.1:5010/health")]
    [InlineData("http://[::]:5011", null, "http://127.0.0.1:5011/health")]
    [InlineData("http://10.1.2.3:5012", null, "http://10.1.2.3:5012/health")]    // bound to one address only: probe that one
    [InlineData(null, "8080;8081", "http://127.0.0.1:8080/health")]
    [InlineData(null, null, "http://127.0.0.1:5000/health")]                      // Kestrel's own default
    public void Probes_the_address_the_service_listens_on(string? urls, string? httpPorts, string expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = urls, ["http_ports"] = httpPorts })
            .Build();

        Assert.Equal(new Uri(expected), HealthProbe.HealthUri(configuration));
    }

    [Fact]
    public async Task A_service_with_no_plain_http_address_is_reported_unhealthy()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = "https://+:8443" }).Build();

        Assert.Equal(1, await HealthProbe.RunAsync(configuration));
    }

    [Theory]
    [InlineData(StatusCodes.Status200OK, 0)]
    [InlineData(StatusCodes.Status503ServiceUnavailable, 1)]
    public async Task The_exit_code_follows_the_health_endpoint(int status, int exitCode)
    {
        await using var service = await HealthEndpoint.StartAsync(status);

        Assert.Equal(exitCode, await HealthProbe.RunAsync(service.Configuration));
    }

    [Theory]
    [MemberData(nameof(ServiceHost.Names), MemberType = typeof(ServiceHost))]
    public async Task Every_service_binary_probes_without_starting_the_service(string name)
    {
        var host = ServiceHost.Named(name);
        Assert.True(File.Exists(host.BuiltAssemblyPath), $"{host.BuiltAssemblyPath} is not built (it is a build dependency of this project)");

        await using (var healthy = await HealthEndpoint.StartAsync(StatusCodes.Status200OK))
            Assert.Equal(0, await RunHealthcheckAsync(host, $"http://+:{healthy.Port}"));

        var nobody = FreePort();
        Assert.Equal(1, await RunHealthcheckAsync(host, $"http://+:{nobody}"));
    }

    // Run as the container's health check runs it, from an empty directory that must stay empty: a service that started
    // instead (healthcheck not handled) would create its database there, or hang on the broker until QuickEnough.
    private static async Task<int> RunHealthcheckAsync(ServiceHost host, string urls)
    {
        var workingDirectory = Directory.CreateTempSubdirectory("decommission-healthcheck-").FullName;
        try
        {
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [host.BuiltAssemblyPath, HealthProbe.Command])
            {
                WorkingDirectory = workingDirectory,
            };
            start.Environment["ASPNETCORE_URLS"] = urls;
            start.Environment["Bus__RabbitMqUri"] = $"amqp://guest:guest@127.0.0.1:{FreePort()}/";

            ChildProcess.Result run;
            try
            {
                run = await ChildProcess.RunAsync(start, QuickEnough);
            }
            catch (TimeoutException e)
            {
                Assert.Fail($"{host.Name} {HealthProbe.Command} did not exit within {QuickEnough.TotalSeconds} s: it started the service?\n{e.Message[..Math.Min(e.Message.Length, 1500)]}");
                throw;
            }

            Assert.True(Directory.GetFileSystemEntries(workingDirectory).Length == 0,
                $"{host.Name} {HealthProbe.Command} wrote {string.Join(", ", Directory.GetFileSystemEntries(workingDirectory))}: it started the service");
            return run.ExitCode;
        }
        finally
        {
            Directory.Delete(workingDirectory, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A stand-in service answering GET /health with a fixed status on a loopback port.</summary>
    private sealed class HealthEndpoint : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private HealthEndpoint(WebApplication app, int port)
        {
            _app = app;
            Port = port;
        }

        public int Port { get; }

        public IConfiguration Configuration => new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = $"http://127.0.0.1:{Port}" })
            .Build();

        public static async Task<HealthEndpoint> StartAsync(int status)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.MapGet(HealthProbe.Path, () => Results.Text(status == StatusCodes.Status200OK ? "Healthy" : "Unhealthy", statusCode: status));
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new HealthEndpoint(app, new Uri(address).Port);
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}
