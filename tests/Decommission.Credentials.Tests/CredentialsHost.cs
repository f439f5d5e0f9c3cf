using System.Collections.Concurrent;
using System.Security.Cryptography;
using Decommission.Contracts;
using Decommission.Credentials.Apis;
using Decommission.Storage;
using Decommission.Testing;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Decommission.Credentials.Tests;

/// <summary>The real credentials service (registration, database, CA, HTTP API on loopback) as a <see cref="ServiceUnderTest"/>, with every log line kept.</summary>
public sealed class CredentialsHost : IAsyncDisposable
{
    private readonly ServiceUnderTest _service;

    private CredentialsHost(ServiceUnderTest service, LogCollector logs)
    {
        _service = service;
        Logs = logs;
    }

    public string DataDirectory => _service.DataDirectory;
    public LogCollector Logs { get; }
    public IServiceProvider Services => _service.Services;
    public ITestHarness Harness => _service.Harness;
    public Uri BaseAddress => _service.BaseAddress;
    public string DatabasePath => Path.Combine(DataDirectory, "credentials.db");
    public GatewayIdentities Gateway => _service.Get<GatewayIdentities>();

    /// <param name="engine">
    /// PostgreSQL: the service's schema in a fresh database (<c>Storage:Postgres</c>) unless <paramref name="settings"/> names
    /// one (a replica of another host), and the fleet CA from a PFX in the data directory (unless the settings name one),
    /// its certificate exported to ca/fleet-ca.pem where the SQLite default keeps it.
    /// </param>
    public static async Task<CredentialsHost> StartAsync(Dictionary<string, string?>? settings = null, string? dataDirectory = null,
        SqlDialect engine = SqlDialect.Sqlite)
    {
        var logs = new LogCollector();
        var gateway = new GatewayIdentities();
        var postgres = engine == SqlDialect.Postgres && settings?.ContainsKey("Storage:Postgres") != true ? await PostgresServer.NewDatabaseAsync() : null;
        var service = await ServiceUnderTest.StartAsync(new ServiceUnderTestOptions
        {
            DataDirectory = dataDirectory,
            Settings = directory =>
            {
                var defaults = new Dictionary<string, string?>
                {
                    ["Credentials:DatabasePath"] = Path.Combine(directory, "credentials.db"),
                    ["Credentials:DataDirectory"] = directory,
                    ["Credentials:KdfIterations"] = "1000",
                };
                if (engine == SqlDialect.Postgres)
                {
                    defaults["Storage:Postgres"] = postgres;
                    defaults["Credentials:CaPfxPath"] = FleetCaPfx.WriteTo(Path.Combine(directory, "fleet-ca.pfx"));
                    defaults["Credentials:CaPfxPassword"] = FleetCaPfx.Password;
                    defaults["Credentials:CaCertificateExportPath"] = Path.Combine(directory, "ca", "fleet-ca.pem");
                }
                return defaults;
            },
            Overrides = settings,
            Logging = logging => logging.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(logs),
            AddService = builder =>
            {
                builder.AddCredentialsService();
                builder.Services.AddSingleton(gateway);
            },
            // The device gateway's side of enrollment, as the gateway answers it: registered, or refused with a reason.
            PlayedServices = bus => bus.AddHandler<RegisterDeviceIdentities>(context => context.RespondAsync(gateway.Answer(context.Message)))
                .Endpoint(e => e.Name = QueueNames.RegisterDeviceIdentities),
            MapEndpoints = app => app.MapCredentialsApi(),
        });
        return new CredentialsHost(service, logs);
    }

    /// <summary>The inventory's admission of a retirement, as credentials hears it; returns once recorded.</summary>
    public async Task Admit(Guid retirementId, string deviceId)
    {
        await Harness.Bus.Publish(new RetirementAccepted { RetirementId = retirementId, DeviceId = deviceId, Device = new DeviceSnapshot() });
        var database = Services.GetRequiredService<CredentialsDatabase>();
        await Eventually.True(async () =>
        {
            await using var connection = await database.OpenAsync();
            return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection,
                "SELECT COUNT(*) FROM admitted_retirements WHERE retirement_id = @Id;", new { Id = retirementId.ToString() }) > 0;
        }, $"retirement {retirementId} to be recorded as admitted", TimeSpan.FromSeconds(10));
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

    public Task<T> WaitForPublished<T>(Func<T, bool> match, int seconds = 15) where T : class =>
        Eventually.First(() => BusTraffic.Of<T>(Harness), match, $"a {typeof(T).Name} to be published",
            TimeSpan.FromSeconds(seconds));

    /// <summary>Stops the service and keeps its data directory, for a test to look at what it left behind.</summary>
    public Task StopAsync() => _service.StopAsync();

    public ValueTask DisposeAsync() => _service.DisposeAsync();
}

/// <summary>A fleet CA in a password-protected PFX, as an operator gives every replica the same one.</summary>
public static class FleetCaPfx
{
    public const string Password = "test-fleet-ca-pfx";

    /// <summary>Writes a new CA to <paramref name="path"/> unless a file is there; returns the path.</summary>
    public static string WriteTo(string path)
    {
        if (File.Exists(path))
            return path;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=Decommission Fleet CA, O=Decommission", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509KeyUsageExtension(
            System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.KeyCertSign | System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, ca.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx, Password));
        return path;
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
