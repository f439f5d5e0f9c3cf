using System.Diagnostics;
using System.Security.Cryptography;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.DeviceGateway.Commands;
using Decommission.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Decommission.Host.Tests;

/// <summary>
/// The all-in-one host (every service's own registration, Kestrel on 127.0.0.1:0, a metrics scrape token) with in-memory
/// span and metric exporters, after one healthy device was enrolled and retired to Completed.
/// </summary>
public sealed class OneRetirement : IAsyncLifetime
{
    public const string ScrapeToken = "scrape-token-for-tests";
    public const string DeviceId = "otel-001";

    private readonly string _data = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"));
    private readonly List<Activity> _spans = [];
    private readonly List<MetricSnapshot> _metrics = [];
    private WebApplication? _app;

    public Guid RetirementId { get; private set; }
    public Uri BaseAddress { get; private set; } = null!;
    public IReadOnlyList<Activity> Spans { get; private set; } = [];

    public async Task InitializeAsync()
    {
        var builder = AllInOne.CreateBuilder([], _data, new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Inventory:EndOfLifeScanInterval"] = "00:00:00",
            ["Orchestrator:SweepInterval"] = "00:00:00.200",
            ["Telemetry:MetricsTokenSha256"] = MetricsEndpoint.HashOf(ScrapeToken),
            // Spans are recorded only for an exporter: this one is added in code below.
            ["Telemetry:Traces"] = "true",
        });
        builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans));
        builder.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInMemoryExporter(_metrics));
        _app = builder.Build();
        _app.MapDefaultEndpoints();
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        var fleet = _app.Services.GetRequiredService<InProcessDeviceFleet>();
        using (var gatewayKey = ECDsa.Create())
        {
            gatewayKey.ImportFromPem(await File.ReadAllTextAsync(_app.Services.GetRequiredService<CommandSigningKey>().PublicKeyPath));
            fleet.Add(new SimulatedDevice(new DeviceSpec { Id = DeviceId, Behaviour = DeviceBehaviour.Healthy }, gatewayKey.ExportSubjectPublicKeyInfo(), DateTimeOffset.UtcNow));
        }
        var device = fleet.Devices[DeviceId];
        var bus = _app.Services.GetRequiredService<IBus>();
        await bus.CreateRequestClient<ImportDevices>(new Uri($"queue:{QueueNames.Inventory}")).GetResponse<DevicesImported>(new ImportDevices
        {
            Csv = "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n"
                + $"{DeviceId},Acme Sensors,TH-200,SN-1,ASSET-0001,eMMC 8 GB,Plant operations,Lyon plant,floor-a,",
            RequestedBy = "telemetry test",
        });
        // Enrollment answers once the gateway has the device's attestation key.
        var enrolled = await bus.CreateRequestClient<EnrollDevicesFromCsv>(new Uri($"queue:{QueueNames.EnrollDevice}"))
            .GetResponse<DevicesEnrolled, EnrollmentRejected>(new EnrollDevicesFromCsv
            {
                Csv = $"deviceId,attestationPublicKey,networkSegment\n{DeviceId},{Convert.ToBase64String(device.AttestationPublicKey)},floor-a",
                RequestedBy = "telemetry test",
            });
        Assert.True(enrolled.Is(out Response<DevicesEnrolled>? _), "the device could not be enrolled");

        // The retirement's end, as any subscriber of the bus hears it.
        var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = bus.ConnectReceiveEndpoint(endpoint =>
        {
            endpoint.Handler<DeviceDecommissioned>(context => Task.FromResult(ended.TrySetResult(RetirementStates.Completed)));
            endpoint.Handler<RetirementFailed>(context => Task.FromResult(ended.TrySetResult($"{RetirementStates.Failed}: {context.Message.Reason}")));
        });
        await listener.Ready;

        var submitted = await bus.CreateRequestClient<RetireDevice>(new Uri($"queue:{QueueNames.RetireDevice}")).GetResponse<RetirementSubmitted>(new RetireDevice
        {
            DeviceId = DeviceId, Reason = "end of life", RequestedBy = "telemetry test", RequestedAt = DateTimeOffset.UtcNow,
        });
        RetirementId = submitted.Message.RetirementId;
        Assert.Equal(RetirementStates.Completed, await ended.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        await listener.StopAsync();
        // The saga's last consume span ends once its outbox has delivered that event.
        await Task.Delay(500);
        lock (_spans)
            Spans = [.. _spans];
    }

    /// <summary>The metrics as the meter provider has them now.</summary>
    public IReadOnlyList<MetricSnapshot> CollectMetrics()
    {
        _app!.Services.GetRequiredService<MeterProvider>().ForceFlush();
        lock (_metrics)
            return [.. _metrics];
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
