using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace Decommission.ServiceDefaults;

/// <summary>
/// <c>healthcheck</c>: asks the service running beside it (same container) for <see cref="Path"/> and exits 0 when it
/// answers with a success status, 1 otherwise, without starting anything. The runtime image has no curl or wget,
/// so a container health check runs the service binary itself: <c>dotnet Decommission.X.Service.dll healthcheck</c>.
/// </summary>
public static class HealthProbe
{
    public const string Command = "healthcheck";

    /// <summary>Where every service host maps its health checks (the bus included: MassTransit adds its own).</summary>
    public const string Path = "/health";

    private const string KestrelDefaultUrl = "http://localhost:5000";

    public static bool IsRequested(string[] args) => args is [Command];

    public static async Task<int> RunAsync(IConfiguration configuration, TimeSpan? timeout = null)
    {
        Uri target;
        try
        {
            target = HealthUri(configuration);
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"healthcheck: {e.Message}");
            return 1;
        }

        // Never through a proxy from the environment: the service is on this machine.
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = timeout ?? TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(target);
            var body = await response.Content.ReadAsStringAsync();
            var line = $"healthcheck: {target} {(int)response.StatusCode} {body}".TrimEnd();
            if (response.IsSuccessStatusCode)
            {
                Console.WriteLine(line);
                return 0;
            }
            await Console.Error.WriteLineAsync(line);
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"healthcheck: {target} {e.Message}");
            return 1;
        }
    }

    /// <summary>The health address of the first plain-HTTP address Kestrel listens on by this configuration, with the
    /// same precedence as Kestrel: <c>urls</c> (ASPNETCORE_URLS), else <c>http_ports</c> (ASPNETCORE_HTTP_PORTS), else its default.</summary>
    public static Uri HealthUri(IConfiguration configuration)
    {
        var urls = configuration[WebHostDefaults.ServerUrlsKey];
        var ports = configuration[WebHostDefaults.HttpPortsKey];
        var candidates = !string.IsNullOrWhiteSpace(urls)
            ? urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : !string.IsNullOrWhiteSpace(ports)
                ? ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(port => $"http://*:{port}").ToArray()
                : [KestrelDefaultUrl];

        foreach (var candidate in candidates)
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(candidate);
            }
            catch (FormatException e)
            {
                throw new InvalidOperationException($"cannot read the listen address '{candidate}': {e.Message}", e);
            }
            if (address.Scheme != Uri.UriSchemeHttp || address.IsUnixPipe || address.Port == 0)
                continue;
            return new UriBuilder(Uri.UriSchemeHttp, LoopbackFor(address.Host), address.Port, Path).Uri;
        }
        throw new InvalidOperationException($"no plain-HTTP address with a fixed port to probe among '{string.Join(';', candidates)}'.");
    }

    // A wildcard or "localhost" binding includes the IPv4 loopback; a specific address is probed as it is.
    private static string LoopbackFor(string host) =>
        host is "" or "*" or "+" or "0.0.0.0" or "[::]" or "::" or "localhost" ? "127.0.0.1" : host;
}
