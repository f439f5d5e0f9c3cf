using Decommission.Orchestrator;
using Decommission.Orchestrator.Persistence;
using Decommission.Orchestrator.StateMachines;
using Decommission.ServiceDefaults;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Decommission.Testing;

/// <summary>
/// A real orchestrator (its registration, its SQLite store, its sweeper) in a host of its own, over MassTransit's
/// test harness or a real RabbitMQ node. Several hosts may share one database file, as restarted or scaled-out processes do.
/// </summary>
public sealed class OrchestratorHost : IAsyncDisposable
{
    private readonly IHost _host;

    private OrchestratorHost(IHost host, string databasePath)
    {
        _host = host;
        DatabasePath = databasePath;
    }

    public string DatabasePath { get; }
    public IServiceProvider Services => _host.Services;
    public ITestHarness Harness => _host.Services.GetRequiredService<ITestHarness>();
    public IBus Bus => _host.Services.GetRequiredService<IBus>();
    public RetirementSagaStore Store => _host.Services.GetRequiredService<RetirementSagaStore>();

    public static string NewDatabasePath() =>
        Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"), "orchestrator.db");

    /// <summary>Starts an orchestrator over the in-memory test harness.</summary>
    public static Task<OrchestratorHost> StartAsync(string? databasePath = null, Dictionary<string, string?>? settings = null) =>
        StartAsync(databasePath, settings, builder => builder.Services.AddMassTransitTestHarness(bus => builder.ApplyBusRegistrations(bus)));

    /// <summary>Starts an orchestrator over the real RabbitMQ node ops/test.sh runs, with extra bus registrations (the played services).</summary>
    public static Task<OrchestratorHost> StartOnRabbitMqAsync(Action<IBusRegistrationConfigurator> playedServices, Dictionary<string, string?>? settings = null,
        Action<HostApplicationBuilder>? realServices = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Bus:Transport"] = "RabbitMq",
            ["Bus:RabbitMqUri"] = RabbitMqNode.Uri.ToString(),
            // Every service of a test shares the node's guest user: who sent what cannot be told apart here.
            ["Bus:VerifySenders"] = "false",
        };
        foreach (var (key, value) in settings ?? [])
            all[key] = value;
        return StartAsync(null, all, builder =>
        {
            realServices?.Invoke(builder);
            builder.AddBusRegistration(playedServices);
            builder.AddMessageBus();
        });
    }

    private static async Task<OrchestratorHost> StartAsync(string? databasePath, Dictionary<string, string?>? settings, Action<HostApplicationBuilder> addBus)
    {
        databasePath ??= NewDatabasePath();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Test", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orchestrator:DatabasePath"] = databasePath,
            ["Orchestrator:SweepInterval"] = "00:00:00.050",
            ["Orchestrator:ReraiseAfter"] = "00:00:02",
            ["Retirement:EraseAttempts"] = "3",
            ["Retirement:EraseAttemptTimeout"] = "00:00:30",
            ["Retirement:EraseBackoffMultiplier"] = "1",
            ["Retirement:EraseDeadline"] = "01:00:00",
            ["Retirement:RedriveInterval"] = "00:01:00",
        });
        if (settings is not null)
            builder.Configuration.AddInMemoryCollection(settings);

        builder.AddServiceDefaults();
        builder.AddOrchestratorService();
        addBus(builder);

        var host = builder.Build();
        await host.StartAsync();
        return new OrchestratorHost(host, databasePath);
    }

    /// <summary>Waits until the stored retirement satisfies the condition; fails with its last stored state otherwise.</summary>
    public async Task<Retirement> WaitForRetirement(Guid id, Func<Retirement, bool> condition, string what, int seconds = 15)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        Retirement? last = null;
        while (DateTime.UtcNow < until)
        {
            last = await Store.LoadAsync(id);
            if (last is not null && condition(last))
                return last;
            await Task.Delay(20);
        }
        throw new Xunit.Sdk.XunitException(
            $"Retirement {id} never became {what}; last stored state: {last?.CurrentState ?? "(none)"} {last?.FailureReason} {last?.FailureDetail}");
    }

    public Task<Retirement> WaitForState(Guid id, string state, int seconds = 15) =>
        WaitForRetirement(id, r => r.CurrentState == state, state, seconds);

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
