using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Issuing;
using Decommission.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Decommission.Certificates.Tests;

/// <summary>The certificates API under attack: framing, sniffing, injected script, huge or many uploads, key guessing.</summary>
public sealed class HardeningTests(ITestOutputHelper output)
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Every_response_forbids_framing_sniffing_and_inline_script()
    {
        await using var host = await CertificatesHost.StartAsync();
        using var anonymous = host.Client(null);
        using var operatorClient = host.Client(await host.NewKey(ApiRoles.Operator));

        var responses = new List<HttpResponseMessage>
        {
            await anonymous.GetAsync("/"), await anonymous.GetAsync("/auditor.js"), await anonymous.GetAsync("/auditor.css"),
            await anonymous.GetAsync("/health"), await anonymous.GetAsync("/api/certificates"), await anonymous.GetAsync("/no-such-page"),
            await operatorClient.GetAsync("/api/access-log"), await operatorClient.GetAsync("/api/certificates"),
        };

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.NotFound,
            HttpStatusCode.Forbidden, HttpStatusCode.OK], responses.Select(r => r.StatusCode));
        foreach (var response in responses)
        {
            Assert.Equal(SecurityHeaders.ContentSecurityPolicy, Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        }
        Assert.Contains("script-src 'self'", SecurityHeaders.ContentSecurityPolicy);
        Assert.DoesNotContain("unsafe-inline", SecurityHeaders.ContentSecurityPolicy);
        // The page's script is all in /auditor.js: an inline one would be blocked.
        var page = await responses[0].Content.ReadAsStringAsync();
        Assert.Equal(1, page.Split("<script").Length - 1);
        Assert.Contains("<script src=\"/auditor.js\"></script>", page);
        Assert.DoesNotContain("<style", page);
        Assert.Equal("text/javascript", responses[1].Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_upload_over_the_cap_is_answered_413_with_the_limit()
    {
        await using var host = await CertificatesHost.StartAsync(new Dictionary<string, string?> { ["Certificates:MaxVerifyUploadBytes"] = "100000" });
        var key = await host.NewKey(ApiRoles.Auditor);
        // Each on a connection of its own: the server closes one whose body it refused, and a pooled reuse would race that.
        async Task<HttpResponseMessage> Post(HttpContent content)
        {
            using var auditor = host.Client(key);
            return await auditor.PostAsync("/api/certificates/verify", content);
        }

        var raw = await Post(Pdf(new byte[100_001]));
        var streamed = await Post(Pdf(new byte[300_000], chunked: true));
        using var form = new MultipartFormDataContent { { Pdf(new byte[100_001]), "file", "big.pdf" } };
        var multipart = await Post(form);
        var atTheCap = await Post(Pdf(new byte[100_000]));

        foreach (var response in new[] { raw, streamed, multipart })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("larger than the 100000 bytes", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.OK, atTheCap.StatusCode);
        Assert.Equal(VerificationResult.NotOurs, (await atTheCap.Content.ReadFromJsonAsync<VerificationResult>(Web))!.Verdict);
    }

    [Fact]
    public async Task Sixteen_parallel_20_MB_uploads_keep_the_service_process_under_300_MB()
    {
        // The real service host in its own process, so its memory is its own and not this test runner's.
        await using var service = await ServiceProcess.StartAsync();
        using var auditor = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        auditor.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.Header, await service.CreateApiKeyAsync(ApiRoles.Auditor));
        // One 20 MB body shared by every request: this side holds it once.
        var body = new byte[20 * 1024 * 1024];
        Random.Shared.NextBytes(body);
        var idle = service.WorkingSet();

        long peak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, service.WorkingSet());
                await Task.Delay(5);
            }
        });
        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => auditor.PostAsync("/api/certificates/verify", Pdf(body))));
        await sampling.CancelAsync();
        await sampler;

        output.WriteLine($"the service peaked at {peak / (1024 * 1024)} MB, from {idle / (1024 * 1024)} MB idle");
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.True(peak < 300L * 1024 * 1024, $"the service peaked at {peak / (1024 * 1024)} MB, from {idle / (1024 * 1024)} MB idle");
    }

    [Fact]
    public async Task Verifications_beyond_the_parallel_limit_wait_then_get_429()
    {
        await using var host = await CertificatesHost.StartAsync(new Dictionary<string, string?>
        {
            ["Certificates:MaxParallelVerifications"] = "1", ["Certificates:VerificationQueueTimeout"] = "00:00:00.300",
        });
        using var auditor = host.Client(await host.NewKey(ApiRoles.Auditor));
        var release = new TaskCompletionSource();
        var slow = new SlowUpload(release.Task);

        var holding = auditor.PostAsync("/api/certificates/verify", slow);
        await slow.Started;
        // The first upload holds the only slot before the second comes (however slow the machine).
        var gate = host.Services.GetRequiredService<VerificationGate>();
        await Eventually.True(() => gate.FreeSlots == 0, "the first verification to take the only slot");
        var refused = await auditor.PostAsync("/api/certificates/verify", Pdf(new byte[1000]));
        release.SetResult();

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, (await holding).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await auditor.PostAsync("/api/certificates/verify", Pdf(new byte[1000]))).StatusCode);
    }

    /// <summary>A body that sends its first bytes, then waits: it holds a verification slot until released.</summary>
    private sealed class SlowUpload : HttpContent
    {
        private readonly Task _release;
        private readonly TaskCompletionSource _started = new();

        public SlowUpload(Task release)
        {
            _release = release;
            Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
        }

        public Task Started => _started.Task;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(new byte[1000]);
            await stream.FlushAsync();
            _started.SetResult();
            await _release;
            await stream.WriteAsync(new byte[1000]);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 2000;
            return true;
        }
    }

    [Fact]
    public async Task Refused_keys_and_forbidden_requests_are_in_the_access_log_without_the_key()
    {
        await using var host = await CertificatesHost.StartAsync();
        var auditorKey = await host.NewKey(ApiRoles.Auditor);
        var operatorKey = await host.NewKey(ApiRoles.Operator);
        const string guessed = "dk_0123456789abcdef.guessed-secret";
        using var guesser = host.Client(guessed);
        using var anonymous = host.Client(null);
        using var operatorClient = host.Client(operatorKey);

        Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/api/certificates/DC-1/pdf")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/certificates")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorClient.GetAsync("/api/access-log")).StatusCode);

        using var auditor = host.Client(auditorKey);
        var log = (await auditor.GetFromJsonAsync<List<AccessEntry>>("/api/access-log", Web))!;
        var guess = Assert.Single(log, e => e.Action == "GET /api/certificates/DC-1/pdf");
        Assert.StartsWith("(unknown API key sha256:", guess.Who);
        Assert.StartsWith("401", guess.Outcome);
        Assert.Single(log, e => e.Action == "GET /api/certificates" && e.Who == "(no API key)" && e.Outcome.StartsWith("401", StringComparison.Ordinal));
        var forbidden = Assert.Single(log, e => e.Action == "GET /api/access-log" && e.Outcome.StartsWith("403", StringComparison.Ordinal));
        Assert.Equal(ApiRoles.Operator, forbidden.Role);
        Assert.StartsWith("operator-", forbidden.Who);
        Assert.False(string.IsNullOrEmpty(forbidden.At));
        var everything = JsonSerializer.Serialize(log);
        Assert.DoesNotContain("guessed-secret", everything);
        Assert.DoesNotContain(operatorKey[(operatorKey.IndexOf('.') + 1)..], everything);
    }

    private static HttpContent Pdf(byte[] bytes, bool chunked = false)
    {
        HttpContent content = chunked ? new StreamContent(new MemoryStream(bytes)) : new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
        if (chunked)
            content.Headers.ContentLength = null;
        return content;
    }
}
