using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Decommission.ServiceDefaults;

/// <summary>
/// <c>GET /metrics</c>, Prometheus text. Not public (metrics tell how many devices are retired, failed and why): the scraper
/// presents <c>Authorization: Bearer &lt;token&gt;</c> whose SHA-256 is <see cref="TelemetryOptions.MetricsTokenSha256"/>,
/// compared in fixed time. Without a configured hash the endpoint is not mapped at all (404).
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (!IsConfigured(options))
            return app;
        var expected = Convert.FromHexString(options.MetricsTokenSha256!);
        app.MapPrometheusScrapingEndpoint(Path, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (context, next) =>
        {
            if (!Authorized(context.Request.Headers.Authorization.ToString(), expected))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return;
            }
            await next(context);
        }), optionsName: null);
        return app;
    }

    public static bool IsConfigured(TelemetryOptions options) => !string.IsNullOrWhiteSpace(options.MetricsTokenSha256);

    internal static bool IsValidHash(string? hex) =>
        string.IsNullOrWhiteSpace(hex) || (hex.Length == 64 && hex.All(char.IsAsciiHexDigit));

    /// <summary>The hex SHA-256 to configure for a scrape token.</summary>
    public static string HashOf(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token))).ToLower(CultureInfo.InvariantCulture);

    private static bool Authorized(string header, byte[] expected)
    {
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(presented, expected);
    }
}
