using System.Collections.Concurrent;
using System.Security.Cryptography;
using Decommission.Contracts;
using Decommission.Credentials.Apis;
using Decommission.ServiceDefaults;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decommission.Credentials.Tests;

/// <summary>The real credentials service (registration, database, CA, HTTP API on loopback) over MassTransit's test harness, with every log line kept.</summary>
public sealed class CredentialsHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CredentialsHost(WebApplication app, string dataDirectory, LogCollector logs)
    {
        _app = app;
        DataDirectory = dataDirectory;
        Logs = logs;
    }

    public string DataDirectory { get; }
    public LogCollector Logs { get; }
    public IServiceProvider Services => _app.Services;
    public ITestHarness Harness => _app.Services.GetRequiredService<ITestHarness>();
    public Uri BaseAddress => new(_app.Urls.First());
    public string DatabasePath => Path.Combine(DataDirectory, "credentials.db");
    public GatewayIdentities Gateway => _app.Services.GetRequiredService<GatewayIdentities>();

    public static async Task<CredentialsHost> StartAsync(Dictionary<string, string?>? settings = null, string? dataDirectory = null)
    {
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Test" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Credentials:DatabasePath"] = Path.Combine(dataDirectory, "credentials.db"),
            ["Credentials:DataDirectory"] = dataDirectory,
            ["Credentials:KdfIterations"] = "1000",
        });
        if (settings is not null)
            builder.Configuration.AddInMemoryCollection(settings);
        var logs = new LogCollector();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(logs);

        builder.AddServiceDefaults();
        builder.AddCredentialsService();
        var gateway = new GatewayIdentities();
        builder.Services.AddSingleton(gateway);
        builder.Services.AddMassTransitTestHarness(bus =>
        {
            builder.ApplyBusRegistrations(bus);
            // The device gateway's side of enrollment, as the gateway answers it: registered, or refused with a reason.
            bus.AddHandler<RegisterDeviceIdentities>(context => context.RespondAsync(gateway.Answer(context.Message)))
                .Endpoint(e => e.Name = QueueNames.RegisterDeviceIdentities);
        });
        var app = builder.Build();
        app.MapCredentialsApi();
        await app.StartAsync();
        return new CredentialsHost(app, dataDirectory, logs);
    }

    /// <summary>The inventory's admission of a retirement, as credentials hears it; returns once recorded.</summary>
    public async Task Admit(Guid retirementId, string deviceId)
    {
        await Harness.Bus.Publish(new RetirementAccepted { RetirementId = retirementId, DeviceId = deviceId, Device = new DeviceSnapshot() });
        var database = Services.GetRequiredService<CredentialsDatabase>();
        for (var until = DateTime.UtcNow.AddSeconds(10); ; await Task.Delay(20))
        {
            await using var connection = await database.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM admitted_retirements WHERE retirement_id = $id;";
            command.Parameters.AddWithValue("$id", retirementId.ToString());
            if ((long)(await command.ExecuteScalarAsync())! > 0)
                return;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"retirement {retirementId} was never recorded as admitted");
        }
    }

    public async Task<DeviceEnrolled> Enroll(string deviceId, ECDsa? attestationKey = null)
    {
        using var key = attestationKey is null ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : null;
        var response = await Harness.GetRequestClient<EnrollDevice>().GetResponse<DeviceEnrolled, EnrollmentRejected>(new EnrollDevice
        {
            DeviceId = deviceId,
            AttestationPublicKey = Convert.ToBase64String((attestationKey ?? key!).ExportSubjectPublicKeyInfo()),
            NetworkSegment = "plant-floor",
            RequestedBy = "test",
        });
        if (response.Is(out Response<DeviceEnrolled>? enrolled))
            return enrolled!.Message;
        response.Is(out Response<EnrollmentRejected>? rejected);
        throw new Xunit.Sdk.XunitException(string.Join("; ", rejected!.Message.Problems.Select(p => p.Problem)));
    }

    public async Task<T> WaitForPublished<T>(Func<T, bool> match, int seconds = 15) where T : class
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            if (Harness.Published.Select<T>().Select(m => m.Context.Message).FirstOrDefault(match) is { } found)
                return found;
            await Task.Delay(20);
        }
        throw new Xunit.Sdk.XunitException($"expected a {typeof(T).Name} to be published");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Keeps every log line any component writes, with its arguments, so a test can search them for secrets.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Collector(categoryName, _lines);

    public void Dispose() { }

    private sealed class Collector(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var arguments = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{category} {logLevel} {formatter(state, exception)} {arguments} {exception}");
        }
    }
}

/// <summary>What the device gateway was asked to register, and the devices it is to refuse (it holds another key for them).</summary>
public sealed class GatewayIdentities
{
    public ConcurrentDictionary<string, string> Registered { get; } = new();
    public ConcurrentDictionary<string, string> Refuse { get; } = new();

    public DeviceIdentitiesRegistered Answer(RegisterDeviceIdentities request)
    {
        var refused = request.Identities.Where(i => Refuse.ContainsKey(i.DeviceId))
            .Select(i => new IdentityRefusal { DeviceId = i.DeviceId, Reason = Refuse[i.DeviceId] }).ToList();
        var registered = request.Identities.Where(i => !Refuse.ContainsKey(i.DeviceId)).ToList();
        foreach (var identity in registered)
            Registered[identity.DeviceId] = identity.IdentityCertificate;
        return new DeviceIdentitiesRegistered { Registered = registered.Select(i => i.DeviceId).ToList(), Refused = refused };
    }
}
