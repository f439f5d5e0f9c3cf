using Decommission.ServiceDefaults;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Decommission.Testing;

/// <summary>Which bus the service under test is on.</summary>
public enum TestBus
{
    /// <summary>MassTransit's in-memory test harness: what was sent and published can be inspected.</summary>
    Harness,

    /// <summary>The real RabbitMQ node ops/test.sh starts (<see cref="RabbitMqNode"/>).</summary>
    RabbitMq,
}

/// <summary>What a <see cref="ServiceUnderTest"/> runs.</summary>
public sealed class ServiceUnderTestOptions
{
    /// <summary>The service's own registration, as its Program.cs calls it: <c>builder => builder.AddInventoryService()</c>.</summary>
    public required Action<IHostApplicationBuilder> AddService { get; init; }

    /// <summary>The service's settings, given its data directory.</summary>
    public Func<string, IReadOnlyDictionary<string, string?>>? Settings { get; init; }

    /// <summary>Settings a test changes, applied over <see cref="Settings"/>.</summary>
    public IReadOnlyDictionary<string, string?>? Overrides { get; init; }

    /// <summary>A directory shared with other hosts (a restarted or scaled-out process): kept on dispose. Default: a new one, deleted on dispose.</summary>
    public string? DataDirectory { get; init; }

    public TestBus Bus { get; init; } = TestBus.Harness;

    /// <summary>Consumers standing in for the other services, on the same bus.</summary>
    public Action<IBusRegistrationConfigurator>? PlayedServices { get; init; }

    /// <summary>The service's HTTP endpoints; when given, Kestrel listens on 127.0.0.1 on a free port (<see cref="ServiceUnderTest.Address"/>).</summary>
    public Action<WebApplication>? MapEndpoints { get; init; }

    public Action<ILoggingBuilder>? Logging { get; init; }
}

/// <summary>
/// One service for real (its own registration, its database in a temporary directory, in-memory settings) in a host of
/// its own, over MassTransit's test harness or the real broker, with its HTTP API on a loopback port when it has one.
/// </summary>
public sealed class ServiceUnderTest : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly bool _ownsDataDirectory;
    private bool _stopped;

    private ServiceUnderTest(IHost host, string dataDirectory, bool ownsDataDirectory)
    {
        _host = host;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
    }

    public string DataDirectory { get; }
    public IServiceProvider Services => _host.Services;
    public T Get<T>() where T : notnull => _host.Services.GetRequiredService<T>();
    public ITestHarness Harness => Get<ITestHarness>();
    public IBus Bus => Get<IBus>();

    /// <summary>The bound HTTP address, e.g. http://127.0.0.1:41234 (no trailing slash).</summary>
    public string Address => (_host as WebApplication)?.Urls.First()
        ?? throw new InvalidOperationException("this service was started without HTTP endpoints (ServiceUnderTestOptions.MapEndpoints)");

    public Uri BaseAddress => new(Address);

    /// <summary>A new directory under the system's temp directory, for one test's data.</summary>
    public static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));

    public static async Task<ServiceUnderTest> StartAsync(ServiceUnderTestOptions options)
    {
        var dataDirectory = options.DataDirectory ?? NewDataDirectory();
        Directory.CreateDirectory(dataDirectory);
        IHostApplicationBuilder builder;
        if (options.MapEndpoints is null)
            builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Test", DisableDefaults = true });
        else
        {
            var web = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
            web.WebHost.UseUrls("http://127.0.0.1:0");
            builder = web;
        }
        if (options.Bus == TestBus.RabbitMq)
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Bus:Transport"] = "RabbitMq",
                ["Bus:RabbitMqUri"] = RabbitMqNode.Uri.ToString(),
                // Every service of a test shares the node's guest user: who sent what cannot be told apart here.
                ["Bus:VerifySenders"] = "false",
            });
        if (options.Settings is not null)
            builder.Configuration.AddInMemoryCollection(options.Settings(dataDirectory));
        if (options.Overrides is not null)
            builder.Configuration.AddInMemoryCollection(options.Overrides);
        options.Logging?.Invoke(builder.Logging);

        builder.AddServiceDefaults();
        options.AddService(builder);
        if (options.Bus == TestBus.RabbitMq)
        {
            builder.AddBusRegistration(options.PlayedServices ?? (_ => { }));
            builder.AddMessageBus();
        }
        else
            builder.Services.AddMassTransitTestHarness(bus =>
            {
                builder.ApplyBusRegistrations(bus);
                options.PlayedServices?.Invoke(bus);
            });

        IHost host;
        if (builder is WebApplicationBuilder webBuilder)
        {
            var app = webBuilder.Build();
            options.MapEndpoints!(app);
            host = app;
        }
        else
            host = ((HostApplicationBuilder)builder).Build();
        await host.StartAsync();
        return new ServiceUnderTest(host, dataDirectory, ownsDataDirectory: options.DataDirectory is null);
    }

    /// <summary>Stops the service and keeps its data directory, for a test to look at what it left behind.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
            return;
        _stopped = true;
        await _host.StopAsync();
        if (_host is IAsyncDisposable asyncDisposable)
            await asyncDisposable.DisposeAsync();
        else
            _host.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsDataDirectory && Directory.Exists(DataDirectory))
            Directory.Delete(DataDirectory, recursive: true);
    }
}
