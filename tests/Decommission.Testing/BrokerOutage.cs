using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using MassTransit;

namespace Decommission.Testing;

/// <summary>
/// A broker outage for one test assembly's virtual host on the node ops/test.sh starts, made with the broker's own
/// management API (not our code): every connection to the virtual host is closed and nothing may be published into it
/// until <see cref="EndAsync"/>. What a service experiences when its broker dies: in-flight sends fail, unacknowledged
/// deliveries go back to their queues, and reconnecting gets it nowhere until the broker is back.
/// </summary>
public sealed class BrokerOutage : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly string _vhost;
    private bool _ongoing;

    public BrokerOutage()
    {
        var port = Environment.GetEnvironmentVariable("DECOM_TEST_MANAGEMENT_PORT");
        if (string.IsNullOrEmpty(port))
            throw new InvalidOperationException("DECOM_TEST_MANAGEMENT_PORT is not set: run the tests with ops/test.sh.");
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{int.Parse(port, CultureInfo.InvariantCulture)}/api/") };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes("guest:guest")));
        _vhost = Uri.EscapeDataString(RabbitMqNode.Uri.AbsolutePath.Trim('/'));
    }

    /// <summary>When the outage began (after its connections were closed), or null.</summary>
    public DateTimeOffset? BeganAt { get; private set; }

    public async Task BeginAsync()
    {
        _ongoing = true;
        await SetWriteAsync("^$");
        using var list = await _http.GetAsync($"vhosts/{_vhost}/connections");
        list.EnsureSuccessStatusCode();
        var connections = await list.Content.ReadFromJsonAsync<List<Connection>>() ?? [];
        foreach (var connection in connections)
            using (await _http.DeleteAsync($"connections/{Uri.EscapeDataString(connection.Name)}")) { }
        BeganAt = DateTimeOffset.UtcNow;
    }

    public async Task EndAsync()
    {
        if (!_ongoing)
            return;
        await SetWriteAsync(".*");
        _ongoing = false;
    }

    private async Task SetWriteAsync(string write)
    {
        using var response = await _http.PutAsJsonAsync($"permissions/{_vhost}/guest", new { configure = ".*", write, read = ".*" });
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        await EndAsync();
        _http.Dispose();
    }

    /// <summary>
    /// Begins an outage the moment the bus is about to send or publish the first message of type <typeparamref name="T"/>
    /// (however it leaves: published, sent, or delivered from an outbox as its stored body).
    /// </summary>
    public IDisposable BeginOnFirstSendOf<T>(IBus bus, TimeSpan lasting) where T : class
    {
        var observer = new OnFirstSend(this, MessageUrn.ForTypeString<T>(), lasting);
        return new Handles(bus.ConnectSendObserver(observer), bus.ConnectPublishObserver(observer));
    }

    private sealed class Handles(params ConnectHandle[] handles) : IDisposable
    {
        public void Dispose()
        {
            foreach (var handle in handles)
                handle.Disconnect();
        }
    }

    private sealed record Connection(string Name);

    private sealed class OnFirstSend(BrokerOutage outage, string urn, TimeSpan lasting) : ISendObserver, IPublishObserver
    {
        private int _fired;

        public Task PrePublish<T>(PublishContext<T> context) where T : class => PreSend(context);

        public Task PostPublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

        public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;

        public async Task PreSend<T>(SendContext<T> context) where T : class
        {
            if (!context.SupportedMessageTypes.Contains(urn) || Interlocked.Exchange(ref _fired, 1) == 1)
                return;
            await outage.BeginAsync();
            _ = Task.Delay(lasting).ContinueWith(_ => outage.EndAsync(), TaskScheduler.Default).Unwrap();
        }

        public Task PostSend<T>(SendContext<T> context) where T : class => Task.CompletedTask;

        public Task SendFault<T>(SendContext<T> context, Exception exception) where T : class => Task.CompletedTask;
    }
}
