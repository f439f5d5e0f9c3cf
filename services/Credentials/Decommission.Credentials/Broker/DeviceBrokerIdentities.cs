using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Broker;

/// <summary>
/// Makes, narrows and removes devices' broker identities (<see cref="DeviceBrokerRules"/>) through the RabbitMQ management
/// HTTP API. Every operation is idempotent and throws when the broker does not do it, so the message that asked for it
/// is retried or kept in its _error queue, never lost. Without a configured management API it does nothing.
/// </summary>
public sealed class DeviceBrokerIdentities : IDisposable
{
    // POST /api/definitions takes many users at once; a fleet's CSV goes in a few calls, each a bounded request.
    private const int UsersPerCall = 1000;

    private readonly HttpClient _http;
    private readonly DeviceBrokerOptions _options;
    private readonly ILogger<DeviceBrokerIdentities> _logger;

    public DeviceBrokerIdentities(IOptions<DeviceBrokerOptions> options, ILogger<DeviceBrokerIdentities> logger)
    {
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        _options = options.Value;
        _logger = logger;
        if (!_options.IsConfigured)
            return;
        _http.BaseAddress = new Uri(_options.ManagementUri!.TrimEnd('/') + "/api/");
        _http.Timeout = _options.Timeout;
        // A missing password stops the start; it is read again for each call, so a corrected password file needs no restart.
        _ = _options.ResolvePassword();
    }

    /// <summary>Whether broker identities are managed here (a management API is configured).</summary>
    public bool IsManaged => _options.IsConfigured;

    /// <summary>Why <paramref name="deviceId"/> cannot have a broker identity; null when it can, or when none are managed.</summary>
    public string? Problem(string deviceId) =>
        IsManaged && !DeviceBrokerRules.IsValidDeviceId(deviceId) ? $"deviceId must be {DeviceBrokerRules.DeviceIdRule}" : null;

    /// <summary>Creates (or resets) the devices' users and permissions, many per call.</summary>
    public async Task AddAsync(IReadOnlyList<string> deviceIds, CancellationToken cancellationToken)
    {
        if (!IsManaged)
            return;
        foreach (var batch in deviceIds.Chunk(UsersPerCall))
            await ImportAsync(batch, quarantined: false, cancellationToken);
        _logger.LogInformation("Broker identities of {Count} devices made in virtual host {VirtualHost}", deviceIds.Count, _options.VirtualHost);
    }

    /// <summary>
    /// Leaves the device only its decommission topics and closes its live connections, because narrowed permissions do not
    /// reach a connection already using a topic. Deleting the user closes its MQTT connections within a second and needs no
    /// listing of them (rabbitmqctl close_connection does not reach MQTT connections on 3.10; DELETE /api/connections/{name}
    /// does, but only after listing them): so the user is deleted and made again, quarantined, in two calls. Its session
    /// queue stays: commands still wait for it there.
    /// </summary>
    public async Task QuarantineAsync(string deviceId, CancellationToken cancellationToken)
    {
        if (!IsManaged)
            return;
        await DeleteAsync($"users/{Escape(deviceId)}", cancellationToken);
        await ImportAsync([deviceId], quarantined: true, cancellationToken);
        _logger.LogInformation("Broker identity of {DeviceId} quarantined: decommission topics only, live connections closed", deviceId);
    }

    /// <summary>Deletes the device's user (its live MQTT connections close, its next connect is refused) and its session queues.</summary>
    public async Task RemoveAsync(string deviceId, CancellationToken cancellationToken)
    {
        if (!IsManaged)
            return;
        await DeleteAsync($"users/{Escape(deviceId)}", cancellationToken);
        // They would keep collecting its commands for ever.
        foreach (var queue in DeviceBrokerRules.SessionQueues(deviceId))
            await DeleteAsync($"queues/{Escape(_options.VirtualHost)}/{Escape(queue)}", cancellationToken);
        _logger.LogInformation("Broker identity of {DeviceId} removed with its session queues", deviceId);
    }

    private async Task ImportAsync(IEnumerable<string> deviceIds, bool quarantined, CancellationToken cancellationToken)
    {
        var definitions = DeviceBrokerRules.Definitions(_options.VirtualHost, deviceIds, quarantined);
        using var request = Authorized(HttpMethod.Post, "definitions");
        request.Content = new StringContent(definitions.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request, cancellationToken);
        await EnsureAsync(response, "POST /api/definitions", cancellationToken);
    }

    private async Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        using var request = Authorized(HttpMethod.Delete, path);
        using var response = await _http.SendAsync(request, cancellationToken);
        // Already gone: what was asked for is done.
        if (response.StatusCode != HttpStatusCode.NotFound)
            await EnsureAsync(response, $"DELETE /api/{path}", cancellationToken);
    }

    private HttpRequestMessage Authorized(HttpMethod method, string path)
    {
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_options.Username}:{_options.ResolvePassword()}"));
        return new HttpRequestMessage(method, path) { Headers = { Authorization = new AuthenticationHeaderValue("Basic", credentials) } };
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string call, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
            return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        throw new DeviceBrokerException(
            $"the broker's management API refused {call}: {(int)response.StatusCode} {response.ReasonPhrase} {body[..Math.Min(body.Length, 300)]}".TrimEnd());
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    public void Dispose() => _http.Dispose();
}

/// <summary>The management API did not do what was asked; the message is retried, then kept in its _error queue.</summary>
public sealed class DeviceBrokerException(string message) : Exception(message);
