using Decommission.Orchestrator;
using Decommission.Orchestrator.Persistence;
using Decommission.Orchestrator.StateMachines;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Decommission.Testing;

/// <summary>
/// A real orchestrator (its registration, its SQLite store, its sweeper) as a <see cref="ServiceUnderTest"/>, over
/// MassTransit's test harness or a real RabbitMQ node. Several hosts may share one database file, as restarted or
/// scaled-out processes do.
/// </summary>
public sealed class OrchestratorHost : IAsyncDisposable
{
    private readonly ServiceUnderTest _service;

    private OrchestratorHost(ServiceUnderTest service, string databasePath)
    {
        _service = service;
        DatabasePath = databasePath;
    }

    public string DatabasePath { get; }
    public IServiceProvider Services => _service.Services;
    public ITestHarness Harness => _service.Harness;
    public IBus Bus => _service.Bus;
    public RetirementSagaStore Store => _service.Get<RetirementSagaStore>();

    public static string NewDatabasePath() => Path.Combine(ServiceUnderTest.NewDataDirectory(), "orchestrator.db");

    /// <summary>Starts an orchestrator over the in-memory test harness.</summary>
    public static Task<OrchestratorHost> StartAsync(string? databasePath = null, Dictionary<string, string?>? settings = null) =>
        StartAsync(databasePath, settings, TestBus.Harness, playedServices: null, realServices: null);

    /// <summary>Starts an orchestrator over the real RabbitMQ node ops/test.sh runs, with extra bus registrations (the played services).</summary>
    public static Task<OrchestratorHost> StartOnRabbitMqAsync(Action<IBusRegistrationConfigurator> playedServices, Dictionary<string, string?>? settings = null,
        Action<HostApplicationBuilder>? realServices = null) =>
        StartAsync(null, settings, TestBus.RabbitMq, playedServices, realServices);

    private static async Task<OrchestratorHost> StartAsync(string? databasePath, Dictionary<string, string?>? settings, TestBus bus,
        Action<IBusRegistrationConfigurator>? playedServices, Action<HostApplicationBuilder>? realServices)
    {
        var service = await ServiceUnderTest.StartAsync(new ServiceUnderTestOptions
        {
            DataDirectory = databasePath is null ? null : Path.GetDirectoryName(databasePath),
            Settings = directory => new Dictionary<string, string?>
            {
                ["Orchestrator:DatabasePath"] = databasePath ?? Path.Combine(directory, "orchestrator.db"),
                ["Orchestrator:SweepInterval"] = "00:00:00.050",
                ["Orchestrator:ReraiseAfter"] = "00:00:02",
                ["Retirement:EraseAttempts"] = "3",
                ["Retirement:EraseAttemptTimeout"] = "00:00:30",
                ["Retirement:EraseBackoffMultiplier"] = "1",
                ["Retirement:EraseDeadline"] = "01:00:00",
                ["Retirement:RedriveInterval"] = "00:01:00",
            },
            Overrides = settings,
            Bus = bus,
            PlayedServices = playedServices,
            AddService = builder =>
            {
                builder.AddOrchestratorService();
                realServices?.Invoke((HostApplicationBuilder)builder);
            },
        });
        return new OrchestratorHost(service, databasePath ?? Path.Combine(service.DataDirectory, "orchestrator.db"));
    }

    /// <summary>Waits until the stored retirement satisfies the condition; fails with its last stored state otherwise.</summary>
    public Task<Retirement> WaitForRetirement(Guid id, Func<Retirement, bool> condition, string what, int seconds = 15) =>
        Eventually.Get(() => Store.LoadAsync(id), r => r is not null && condition(r), $"retirement {id} to become {what}", TimeSpan.FromSeconds(seconds),
            describe: last => $"{last?.CurrentState ?? "(none)"} {last?.FailureReason} {last?.FailureDetail}")!;

    public Task<Retirement> WaitForState(Guid id, string state, int seconds = 15) =>
        WaitForRetirement(id, r => r.CurrentState == state, state, seconds);

    public ValueTask DisposeAsync() => _service.DisposeAsync();
}
