namespace Decommission.ServiceDefaults;

/// <summary>Traces and metrics (section <c>Telemetry</c>). OTLP export follows the standard <c>OTEL_EXPORTER_OTLP_*</c> settings.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>The standard variable (or configuration key) naming the OTLP collector; nothing is exported over OTLP without it.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public const string ServiceNameKey = "OTEL_SERVICE_NAME";

    /// <summary>
    /// An OTLP collector over gRPC (e.g. <c>http://collector:4317</c>) when the standard <see cref="OtlpEndpointKey"/> is
    /// not set; for HTTP/protobuf or headers, use the standard <c>OTEL_EXPORTER_OTLP_*</c> variables instead.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The service name on every span and metric; else the standard <c>OTEL_SERVICE_NAME</c>, else the host's application name.</summary>
    public string? ServiceName { get; set; }

    /// <summary>
    /// Record spans. Default: only when something takes them (an OTLP collector or the console), so a host nobody traces
    /// spends nothing on spans; set <c>true</c> to record for an exporter added in code.
    /// </summary>
    public bool? Traces { get; set; }

    /// <summary>Also write spans and metrics to standard output (the demo sends standard output to its log file).</summary>
    public bool Console { get; set; }

    /// <summary>How often metrics go to the console (OTLP follows the standard <c>OTEL_METRIC_EXPORT_INTERVAL</c>).</summary>
    public TimeSpan ConsoleMetricsInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Hex SHA-256 of the bearer token a scraper must present on <see cref="MetricsEndpoint.Path"/>; without it the scrape
    /// endpoint does not exist (404). Only the hash is configured, so the configuration holds no usable secret.
    /// </summary>
    public string? MetricsTokenSha256 { get; set; }
}
