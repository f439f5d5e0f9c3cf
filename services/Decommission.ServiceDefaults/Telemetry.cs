using MassTransit.Logging;
using MassTransit.Monitoring;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Decommission.ServiceDefaults;

/// <summary>
/// Traces (MassTransit's activity source, ASP.NET Core, HttpClient) and metrics (every <c>Decommission.*</c> meter,
/// MassTransit's, ASP.NET Core's, HttpClient's) for every host: over OTLP when a collector is configured, on standard
/// output when <see cref="TelemetryOptions.Console"/> is set, and in Prometheus text on <see cref="MetricsEndpoint.Path"/>
/// when a scrape token is configured.
/// </summary>
public static class Telemetry
{
    /// <summary>Every meter of ours is named <c>Decommission.&lt;Service&gt;</c>.</summary>
    public const string Meters = "Decommission.*";

    public static IHostApplicationBuilder AddTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.Section)
            .Validate(o => MetricsEndpoint.IsValidHash(o.MetricsTokenSha256), "Telemetry:MetricsTokenSha256 must be 64 hex digits (the SHA-256 of the scrape token)")
            .Validate(o => string.IsNullOrWhiteSpace(o.OtlpEndpoint) || Uri.TryCreate(o.OtlpEndpoint, UriKind.Absolute, out _), "Telemetry:OtlpEndpoint must be an absolute URI")
            .ValidateOnStart();
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var serviceName = new[] { options.ServiceName, builder.Configuration[TelemetryOptions.ServiceNameKey], builder.Environment.ApplicationName }
            .First(name => !string.IsNullOrWhiteSpace(name))!;

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[TelemetryOptions.OtlpEndpointKey]);
        Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out var collector);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName));
        if (options.Traces ?? (otlp || collector is not null || options.Console))
            telemetry.WithTracing(tracing =>
            {
                tracing.AddSource(DiagnosticHeaders.DefaultListenerName)
                    // Probes and scrapes every few seconds would bury the retirements.
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsHousekeeping(context.Request.Path))
                    .AddHttpClientInstrumentation();
                if (options.Console)
                    tracing.AddConsoleExporter();
            });
        telemetry.WithMetrics(metrics =>
            {
                metrics.AddMeter(Meters, InstrumentationOptions.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation();
                if (options.Console)
                    metrics.AddConsoleExporter((_, reader) =>
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.ConsoleMetricsInterval.TotalMilliseconds);
                if (MetricsEndpoint.IsConfigured(options))
                    metrics.AddPrometheusExporter();
            });
        // Traces, metrics and logs; protocol, headers and intervals from the standard OTEL_* settings.
        if (otlp)
            telemetry.UseOtlpExporter();
        else if (collector is not null)
            telemetry.UseOtlpExporter(OtlpExportProtocol.Grpc, collector);
        return builder;
    }

    private static bool IsHousekeeping(PathString path) =>
        path.StartsWithSegments(HealthProbe.Path) || path.StartsWithSegments(MetricsEndpoint.Path);
}
