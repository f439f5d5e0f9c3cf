using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;

namespace Decommission.Cli;

/// <summary>The certificates service's API: download a certificate's PDF, verify a PDF, record and witness a physical destruction, run campaigns.</summary>
public sealed class CertificatesApiClient : IDisposable
{
    public const string ApiKeyHeader = "X-Api-Key";
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly HttpClient _http;
    private readonly CliSettings _settings;

    public CertificatesApiClient(CliSettings settings)
    {
        _settings = settings;
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = ConnectTimeout })
        {
            BaseAddress = settings.Api,
            Timeout = settings.Timeout,
        };
        if (!string.IsNullOrEmpty(settings.ApiKey))
            _http.DefaultRequestHeaders.Add(ApiKeyHeader, settings.ApiKey);
    }

    public Task<byte[]> DownloadPdfAsync(string certificateId, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"api/certificates/{Uri.EscapeDataString(certificateId)}/pdf"),
            async response =>
            {
                if (response.StatusCode == HttpStatusCode.NotFound)
                    throw new CliFailure(ExitCodes.Failed, $"no certificate {certificateId} at {Display}");
                return await response.Content.ReadAsByteArrayAsync(cancellationToken);
            }, cancellationToken);

    public Task<VerificationResult> VerifyAsync(FileInfo pdf, CancellationToken cancellationToken) =>
        SendAsync(() =>
            {
                var file = new StreamContent(pdf.OpenRead());
                file.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
                return new HttpRequestMessage(HttpMethod.Post, "api/certificates/verify") { Content = new MultipartFormDataContent { { file, "file", pdf.Name } } };
            },
            async response => await response.Content.ReadFromJsonAsync<VerificationResult>(cancellationToken)
                ?? throw new CliFailure(ExitCodes.Failed, $"the certificates API at {Display} answered an empty verification"),
            cancellationToken);

    /// <summary>Records a physical destruction as performed by this API key's owner; it awaits another person's witness.</summary>
    public Task<DestructionRecord> RecordDestructionAsync(NewDestruction destruction, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Post, "api/destructions") { Content = JsonContent.Create(destruction) },
            response => ReadDestructionAsync(response, "the destruction", cancellationToken), cancellationToken);

    /// <summary>Witnesses a destruction another person recorded; the service then tells the retirement.</summary>
    public Task<DestructionRecord> WitnessDestructionAsync(string recordId, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"api/destructions/{Uri.EscapeDataString(recordId)}/witness"),
            response => ReadDestructionAsync(response, $"destruction record {recordId}", cancellationToken), cancellationToken);

    public Task<DestructionRecord> GetDestructionAsync(string recordId, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"api/destructions/{Uri.EscapeDataString(recordId)}"),
            response => ReadDestructionAsync(response, $"destruction record {recordId}", cancellationToken), cancellationToken);

    /// <summary>Starts a campaign as this API key's owner (operators only).</summary>
    public Task<Decommission.Contracts.CampaignView> StartCampaignAsync(NewCampaign campaign, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Post, "api/campaigns") { Content = JsonContent.Create(campaign) },
            response => ReadCampaignAsync(response, "the campaign", cancellationToken), cancellationToken);

    public Task<Decommission.Contracts.CampaignView> GetCampaignAsync(Guid campaignId, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Get, $"api/campaigns/{campaignId}"),
            response => ReadCampaignAsync(response, $"campaign {campaignId}", cancellationToken), cancellationToken);

    public Task<Decommission.Contracts.CampaignList> ListCampaignsAsync(CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "api/campaigns"),
            async response => await response.Content.ReadFromJsonAsync<Decommission.Contracts.CampaignList>(cancellationToken)
                ?? throw new CliFailure(ExitCodes.Failed, $"the certificates API at {Display} answered an empty campaign list"), cancellationToken);

    /// <summary>Pauses, resumes, aborts, approves or refuses a campaign as this API key's owner.</summary>
    public Task<Decommission.Contracts.CampaignView> ChangeCampaignAsync(Guid campaignId, string action, string? note, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Post, $"api/campaigns/{campaignId}/{Uri.EscapeDataString(action)}") { Content = JsonContent.Create(new { note }) },
            response => ReadCampaignAsync(response, $"campaign {campaignId}", cancellationToken), cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task<Decommission.Contracts.CampaignView> ReadCampaignAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.NotFound)
            throw new CliFailure(ExitCodes.Failed, $"no {what} at {Display}");
        return await response.Content.ReadFromJsonAsync<Decommission.Contracts.CampaignView>(cancellationToken)
            ?? throw new CliFailure(ExitCodes.Failed, $"the certificates API at {Display} answered an empty campaign");
    }

    private async Task<DestructionRecord> ReadDestructionAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.NotFound)
            throw new CliFailure(ExitCodes.Failed, $"no {what} at {Display}");
        return await response.Content.ReadFromJsonAsync<DestructionRecord>(cancellationToken)
            ?? throw new CliFailure(ExitCodes.Failed, $"the certificates API at {Display} answered an empty destruction record");
    }

    private string Display => CliSettings.Display(_settings.Api);

    private async Task<T> SendAsync<T>(Func<HttpRequestMessage> create, Func<HttpResponseMessage, Task<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            using var request = create();
            using var response = await _http.SendAsync(request, cancellationToken);
            switch (response.StatusCode)
            {
                case HttpStatusCode.Unauthorized:
                    throw new CliFailure(ExitCodes.Failed, string.IsNullOrEmpty(_settings.ApiKey)
                        ? $"the certificates API at {Display} needs an API key: give --api-key or set {CliSettings.ApiKeyVariable}"
                        : $"the certificates API at {Display} refused the API key");
                case HttpStatusCode.Forbidden:
                    throw new CliFailure(ExitCodes.Failed, $"the certificates API at {Display} does not allow this API key's role to do that");
                case HttpStatusCode.Conflict or HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.TooManyRequests:
                    throw new CliFailure(ExitCodes.Failed, $"the certificates API at {Display} refused: {(await ProblemDetail(response, cancellationToken)).TrimStart(':', ' ')}");
                case HttpStatusCode.NotFound:
                case >= HttpStatusCode.OK and < HttpStatusCode.MultipleChoices:
                    return await read(response);
                default:
                    throw new CliFailure(ExitCodes.Failed,
                        $"the certificates API at {Display} answered {(int)response.StatusCode} {response.ReasonPhrase}{await ProblemDetail(response, cancellationToken)}");
            }
        }
        catch (HttpRequestException e)
        {
            throw new CliFailure(ExitCodes.Unreachable, $"cannot reach the certificates API at {Display} ({Describe(e)})");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliFailure(ExitCodes.NoAnswer, $"no answer from the certificates API at {Display} within {_settings.Timeout.TotalSeconds:0}s");
        }
    }

    private static string Describe(HttpRequestException failure) =>
        failure.InnerException switch
        {
            SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused",
            SocketException { SocketErrorCode: SocketError.TimedOut } => "connection timed out",
            SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData } => "host not found",
            SocketException socket => socket.SocketErrorCode.ToString(),
            _ when failure.HttpRequestError == HttpRequestError.NameResolutionError => "host not found",
            _ when failure.HttpRequestError == HttpRequestError.SecureConnectionError => "TLS handshake failed",
            _ => failure.Message,
        };

    private static async Task<string> ProblemDetail(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<Problem>(cancellationToken);
            return string.IsNullOrWhiteSpace(problem?.Detail) ? "" : $": {problem.Detail}";
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException)
        {
            return "";
        }
    }

    private sealed record Problem(string? Detail);
}

/// <summary>A campaign to start: its devices, pace, ramp and abort criteria; who asks is the API key's owner.</summary>
public sealed record NewCampaign(string Name, IReadOnlyList<string> DeviceIds, string Reason, double PacePerMinute,
    Decommission.Contracts.CampaignRamp? Ramp, IReadOnlyList<Decommission.Contracts.AbortCriterion> AbortCriteria,
    Decommission.Contracts.DeviceSelection? Selection = null);

/// <summary>A physical destruction to record: what, where, when; who is the API key's owner.</summary>
public sealed record NewDestruction(Guid RetirementId, string DeviceId, string Method, string Location, DateTimeOffset DestroyedAt);

/// <summary>A destruction record as the API shows it: "awaiting witness" or "witnessed".</summary>
public sealed record DestructionRecord(string RecordId, Guid RetirementId, string DeviceId, string Method, string Location, DateTimeOffset DestroyedAt,
    string PerformedBy, DateTimeOffset RecordedAt, string? Witness, DateTimeOffset? WitnessedAt, string Status);

/// <summary>The API's answer to a verification: valid, signature-invalid, evidence-invalid or not-ours.</summary>
public sealed record VerificationResult(string Verdict, string? CertificateId, string? Detail)
{
    public const string Valid = "valid";
}
