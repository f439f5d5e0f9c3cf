using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Decommission.Contracts;
using Decommission.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Decommission.Host.Tests;

/// <summary>Meters are process-wide: these tests run alone, so the demo's retirements do not count in theirs.</summary>
[CollectionDefinition(nameof(TelemetryCollection), DisableParallelization = true)]
public sealed class TelemetryCollection;

/// <summary>Traces and metrics of one retirement through the all-in-one host, as an operator's collector and scraper see them.</summary>
[Collection(nameof(TelemetryCollection))]
public sealed class TelemetryTests(OneRetirement run) : IClassFixture<OneRetirement>
{
    private const string SagaIdTag = "messaging.masstransit.saga_id";
    private const string ConsumerTypeTag = "messaging.masstransit.consumer_type";

    [Fact]
    public void One_retirement_is_one_trace_through_consumers_of_all_five_services()
    {
        var consumed = run.Spans.Where(s => s.Kind == ActivityKind.Consumer && s.GetTagItem("messaging.operation") as string == "process").ToList();
        var saga = consumed.Where(s => s.GetTagItem(SagaIdTag) as string == run.RetirementId.ToString()).ToList();
        var opened = Assert.Single(saga, s => s.GetTagItem("messaging.masstransit.begin_state") as string == "Initial");
        var trace = opened.TraceId;

        // (Besides the services' consumers, the trace holds the test's own response handler: the request was answered.)
        var services = consumed.Where(s => s.TraceId == trace).Select(ServiceOf).ToHashSet();
        Assert.Superset(new HashSet<string> { "orchestrator", "inventory", "credentials", "device-gateway", "certificates" }, services);
        // Every step of the saga, from the request to the certificate, is in that trace.
        Assert.All(saga, s => Assert.Equal(trace, s.TraceId));
        Assert.Contains(saga, s => s.GetTagItem("messaging.masstransit.end_state") as string == RetirementStates.Completed);

        string ServiceOf(Activity span) => span.GetTagItem(SagaIdTag) is not null ? "orchestrator" : (span.GetTagItem(ConsumerTypeTag) as string) switch
        {
            { } type when type.StartsWith("Decommission.Inventory.", StringComparison.Ordinal) => "inventory",
            { } type when type.StartsWith("Decommission.Credentials.", StringComparison.Ordinal) => "credentials",
            { } type when type.StartsWith("Decommission.DeviceGateway.", StringComparison.Ordinal) => "device-gateway",
            { } type when type.StartsWith("Decommission.Certificates.", StringComparison.Ordinal) => "certificates",
            var other => other ?? "(none)",
        };
    }

    [Fact]
    public void The_retirement_counts_once_as_started_and_completed_with_its_erase_certificate_steps_and_crl_entry()
    {
        var metrics = run.CollectMetrics();
        MetricSnapshot Last(string name) => metrics.Last(m => m.Name == name);
        long Sum(string name) => Last(name).MetricPoints.Sum(p => p.GetSumLong());

        Assert.Equal(1, Sum("decommission.retirements.started"));
        Assert.Equal(1, Sum("decommission.retirements.completed"));
        Assert.DoesNotContain(metrics, m => m.Name == "decommission.retirements.failed");
        Assert.Equal(1, Sum("decommission.erase.attempts"));
        var issued = Assert.Single(Last("decommission.certificates.issued").MetricPoints);
        Assert.Equal(1, issued.GetSumLong());
        Assert.Equal(SanitizationTypes.Purge, TagOf(issued, "sanitization_type"));
        var steps = Last("decommission.retirement.step.duration").MetricPoints.ToDictionary(p => TagOf(p, "step")!, p => p.GetHistogramCount());
        Assert.Equal(new Dictionary<string, long>
        {
            [RetirementStates.Requested] = 1, [RetirementStates.Quarantining] = 1, [RetirementStates.Erasing] = 1,
            [RetirementStates.RevokingIdentity] = 1, [RetirementStates.Certifying] = 1,
        }, steps);
        Assert.Equal(1, Assert.Single(Last("decommission.crl.entries").MetricPoints).GetGaugeLastValueLong());
        // (MassTransit's meter is exported too, but not checked here: MassTransit creates it once per process, with the
        // first bus, and it goes with that bus's host — in this test process, possibly the demo test's.)
    }

    [Fact]
    public async Task The_scrape_endpoint_answers_only_the_configured_token_in_prometheus_text()
    {
        using var http = new HttpClient { BaseAddress = run.BaseAddress };

        using var anonymous = await http.GetAsync(MetricsEndpoint.Path);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);

        using var wrong = new HttpRequestMessage(HttpMethod.Get, MetricsEndpoint.Path);
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OneRetirement.ScrapeToken + "x");
        using var refused = await http.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var right = new HttpRequestMessage(HttpMethod.Get, MetricsEndpoint.Path);
        right.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OneRetirement.ScrapeToken);
        using var scraped = await http.SendAsync(right);
        var text = await scraped.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Matches(new Regex(@"^decommission_retirements_completed_total(\{[^}]*\})? 1( \d+)?$", RegexOptions.Multiline), text);
        Assert.Matches(new Regex(@"^decommission_crl_entries(\{[^}]*\})? 1( \d+)?$", RegexOptions.Multiline), text);
    }

    [Fact]
    public async Task Without_a_configured_token_there_is_no_scrape_endpoint()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["Urls"] = "http://127.0.0.1:0";
        builder.AddServiceDefaults();
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };

        using var metrics = await http.GetAsync(MetricsEndpoint.Path);
        using var health = await http.GetAsync(HealthProbe.Path);

        Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        await app.StopAsync();
    }

    private static string? TagOf(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
            if (tag.Key == key)
                return tag.Value?.ToString();
        return null;
    }
}
