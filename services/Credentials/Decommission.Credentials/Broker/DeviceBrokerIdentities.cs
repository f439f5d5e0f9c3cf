using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Decommission.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Broker;

/// <summary>
/// Makes, narrows and removes devices' broker identities (<see cref="DeviceBrokerRules"/>) through the RabbitMQ management
/// HTTP API. Every operation is idempotent and throws when the broker does not do it, so the message that asked for it
/// is retried or kept in its _error queue, never lost. Without a configured management API it does nothing.
/// Quarantines and removals that arrive together go to the broker together (one <see cref="Batcher{TRequest,TResult}"/>
/// each): a bulk delete of the users and the definitions imports (two) per batch, not two calls per device (on an idle 3.10 broker,
/// 200 users: ≈ 58/s one at a time, ≈ 480/s together). Under load the broker's own work per user dominates (≈ 100 ms per
/// quarantine with 2,500 devices connected): see docs/deployment.md.
/// </summary>
public sealed class DeviceBrokerIdentities : IDisposable
{
    // POST /api/definitions takes many users at once; a fleet's CSV goes in a few calls, each a bounded request.
    private const int UsersPerCall = 1000;

    // A quarantined device has no broker user from its deletion until the imports after it: on a loaded three-node cluster
    // (≈ 0.5 s per user) a batch of 145 left each of its devices off the broker for 66 s, reconnecting in vain all along, so
    // a batch's users are deleted and made again 25 at a time (≈ 10 s off), at the price of more calls.
    private const int QuarantinedPerCall = 25;

    // The session queues of a batch of removed devices are deleted a few at a time.
    private const int CallsInParallel = 4;

    private readonly HttpClient _http;
    private readonly DeviceBrokerOptions _options;
    private readonly IReadOnlyList<Uri> _nodes;
    // The node the last call went to; a call it does not answer goes to the next.
    private int _node;
    private readonly ILogger<DeviceBrokerIdentities> _logger;
    private readonly Batcher<string, bool> _quarantines;
    private readonly Batcher<string, bool> _removals;

    public DeviceBrokerIdentities(IOptions<DeviceBrokerOptions> options, ILogger<DeviceBrokerIdentities> logger)
    {
        _http = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // A node that is gone is left for the next soon, not after the whole call's timeout.
            ConnectTimeout = TimeSpan.FromSeconds(5),
        });
        _options = options.Value;
        _logger = logger;
        _quarantines = new Batcher<string, bool>(QuarantineBatchAsync);
        _removals = new Batcher<string, bool>(RemoveBatchAsync);
        _nodes = _options.ManagementUris;
        if (!_options.IsConfigured)
            return;
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
    /// reach a connection already using a topic (each MQTT connection caches the topic checks it passed). The users of the
    /// devices quarantined at the same time are deleted together (one POST /api/users/bulk-delete, which closes their MQTT
    /// connections within a second) and made again, quarantined (the definitions imports). Not chosen: narrowing in place and
    /// then closing each device's connections with DELETE /api/connections/username/{user} (3.10 has it): under load one
    /// such call hung until its timeout (60 s) and stalled every quarantine of the batch. Its session queue stays: commands
    /// still wait for it there. Returns once the broker enforces it.
    /// </summary>
    public async Task QuarantineAsync(string deviceId, CancellationToken cancellationToken)
    {
        if (!IsManaged)
            return;
        await _quarantines.SubmitAsync(deviceId, cancellationToken);
        _logger.LogInformation("Broker identity of {DeviceId} quarantined: decommission topics only, live connections closed", deviceId);
    }

    /// <summary>Deletes the device's user (its live MQTT connections close, its next connect is refused) and its session queues,
    /// with the other devices removed at the same time.</summary>
    public async Task RemoveAsync(string deviceId, CancellationToken cancellationToken)
    {
        if (!IsManaged)
            return;
        await _removals.SubmitAsync(deviceId, cancellationToken);
        _logger.LogInformation("Broker identity of {DeviceId} removed with its session queues", deviceId);
    }

    private async Task QuarantineBatchAsync(IReadOnlyList<BatchItem<string, bool>> items)
    {
        var started = Stopwatch.GetTimestamp();
        var deleting = TimeSpan.Zero;
        // Each call costs the broker a fixed part besides its per-user work: chunks of 25 made the bulk benchmark on an idle
        // single node a third slower than one delete and one import per batch, but bound the time a kicked device is refused
        // (QuarantinedPerCall), which on a loaded cluster is what fails devices' deadlines and floods the broker with reconnects.
        foreach (var batch in items.Select(item => item.Request).Distinct(StringComparer.Ordinal).Chunk(QuarantinedPerCall))
        {
            var deletion = Stopwatch.GetTimestamp();
            await DeleteUsersAsync(batch, CancellationToken.None);
            deleting += Stopwatch.GetElapsedTime(deletion);
            await ImportAsync(batch, quarantined: true, CancellationToken.None);
        }
        foreach (var item in items)
            item.Complete(true);
        _logger.LogInformation("Quarantined {Count} broker identities in one batch: {Milliseconds:F0} ms (users deleted in {DeleteMilliseconds:F0} ms)",
            items.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds, deleting.TotalMilliseconds);
    }

    private async Task RemoveBatchAsync(IReadOnlyList<BatchItem<string, bool>> items)
    {
        var started = Stopwatch.GetTimestamp();
        var deviceIds = items.Select(item => item.Request).Distinct(StringComparer.Ordinal).ToList();
        foreach (var batch in deviceIds.Chunk(UsersPerCall))
            await DeleteUsersAsync(batch, CancellationToken.None);
        var deleted = Stopwatch.GetElapsedTime(started);
        // They would keep collecting its commands until they expire. One call per queue, but a cheap one (under a millisecond when idle).
        await Parallel.ForEachAsync(deviceIds.SelectMany(DeviceBrokerRules.SessionQueues), new ParallelOptions { MaxDegreeOfParallelism = CallsInParallel },
            async (queue, _) => await DeleteAsync($"queues/{Escape(_options.VirtualHost)}/{Escape(queue)}", CancellationToken.None));
        foreach (var item in items)
            item.Complete(true);
        _logger.LogInformation("Removed {Count} broker identities in one batch: {Milliseconds:F0} ms (users deleted in {DeleteMilliseconds:F0} ms)",
            items.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds, deleted.TotalMilliseconds);
    }

    /// <summary>
    /// Deletes the users that exist among <paramref name="names"/>. POST /api/users/bulk-delete deletes in the order given and
    /// stops with 400 no_such_user at the first that does not exist (3.10): those before it are gone, the rest are sent again.
    /// </summary>
    private async Task DeleteUsersAsync(IEnumerable<string> names, CancellationToken cancellationToken)
    {
        var remaining = names.ToList();
        while (remaining.Count > 0)
        {
            var users = remaining;
            using var response = await SendAsync(HttpMethod.Post, "users/bulk-delete", () => JsonContent.Create(new { users }), cancellationToken);
            if (response.IsSuccessStatusCode)
                return;
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var missing = response.StatusCode == HttpStatusCode.BadRequest ? NoSuchUser(body) : null;
            var at = missing is null ? -1 : remaining.IndexOf(missing);
            if (at < 0)
                throw Refused(response, body, "POST /api/users/bulk-delete");
            remaining = remaining[(at + 1)..];
        }
    }

    /// <summary>The user named by a {"error":"bad_request","reason":["no_such_user","name"]} answer, or null.</summary>
    private static string? NoSuchUser(string body)
    {
        try
        {
            return JsonNode.Parse(body)?["reason"] is JsonArray { Count: 2 } reason && (string?)reason[0] == "no_such_user" ? (string?)reason[1] : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private async Task ImportAsync(IEnumerable<string> deviceIds, bool quarantined, CancellationToken cancellationToken)
    {
        // In two imports: the users with their topic permissions first, then their virtual-host permissions. One import sets
        // the virtual-host permissions before the topic permissions (RabbitMQ's order), and a user with no topic permissions
        // may use every topic of amq.topic: a device reconnecting in between (after a quarantine's kick) could have written
        // to any device's topics. Without its virtual-host permissions a device cannot even connect.
        var definitions = DeviceBrokerRules.Definitions(_options.VirtualHost, deviceIds, quarantined);
        var permissions = definitions["permissions"]!.ToJsonString();
        definitions.Remove("permissions");
        foreach (var part in new[] { definitions.ToJsonString(), $"{{\"permissions\":{permissions}}}" })
        {
            using var response = await SendAsync(HttpMethod.Post, "definitions", () => new StringContent(part, Encoding.UTF8, "application/json"),
                cancellationToken);
            await EnsureAsync(response, "POST /api/definitions", cancellationToken);
        }
    }

    private async Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Delete, path, null, cancellationToken);
        // Already gone: what was asked for is done.
        if (response.StatusCode != HttpStatusCode.NotFound)
            await EnsureAsync(response, $"DELETE /api/{path}", cancellationToken);
    }

    /// <summary>
    /// One call, to the node that answered last; a node that cannot be reached, or does not answer within the timeout, is
    /// left for the next (each node's API manages the whole cluster, and every call here is idempotent, so one that a lost
    /// node may have done is simply done again). Throws what the last node gave when none answers.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, Func<HttpContent>? content, CancellationToken cancellationToken)
    {
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_options.Username}:{_options.ResolvePassword()}"));
        var first = Volatile.Read(ref _node);
        for (var tried = 0; ; tried++)
        {
            var node = (first + tried) % _nodes.Count;
            using var request = new HttpRequestMessage(method, new Uri(_nodes[node], path))
            {
                Headers = { Authorization = new AuthenticationHeaderValue("Basic", credentials) },
                Content = content?.Invoke(),
            };
            try
            {
                var response = await _http.SendAsync(request, cancellationToken);
                Volatile.Write(ref _node, node);
                return response;
            }
            catch (Exception e) when (tried + 1 < _nodes.Count && !cancellationToken.IsCancellationRequested &&
                                      e is HttpRequestException or TaskCanceledException)
            {
                _logger.LogWarning("The broker's management API at {Node} did not answer {Method} /api/{Path} ({Error}); trying {Next}",
                    _nodes[node].GetLeftPart(UriPartial.Authority), method, path, e.GetBaseException().Message,
                    _nodes[(node + 1) % _nodes.Count].GetLeftPart(UriPartial.Authority));
            }
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string call, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
            return;
        throw Refused(response, await response.Content.ReadAsStringAsync(cancellationToken), call);
    }

    private static DeviceBrokerException Refused(HttpResponseMessage response, string body, string call) =>
        new(
            $"the broker's management API refused {call}: {(int)response.StatusCode} {response.ReasonPhrase} {body[..Math.Min(body.Length, 300)]}".TrimEnd());

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    public void Dispose() => _http.Dispose();
}

/// <summary>The management API did not do what was asked; the message is retried, then kept in its _error queue.</summary>
public sealed class DeviceBrokerException(string message) : Exception(message);
