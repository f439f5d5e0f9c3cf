using Decommission.Certificates;
using Decommission.Certificates.Apis;
using Decommission.Credentials.Apis;
using Decommission.ServiceDefaults;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Decommission.Host;

/// <summary>
/// Every service in one process with the auditor API and page, the public CRL, health and (with a scrape token) /metrics.
/// Its data stays in the data directory between runs. On the first run (no API key yet) it makes an operator key and an
/// auditor key and prints each once, with the page's address carrying it in the fragment (which browsers never send);
/// only the keys' hashes are kept. A simulated fleet (<c>--devices N</c>, 50 by default) is enrolled on the first run and
/// comes back with its keys on later runs, so a new user can start a campaign on the operator page and watch it.
/// </summary>
public static class Serve
{
    public static async Task<int> RunAsync(string[] args)
    {
        var data = args.SkipWhile(a => a != "--data").Skip(1).FirstOrDefault() ?? "decommission-data";
        var count = int.TryParse(args.SkipWhile(a => a != "--devices").Skip(1).FirstOrDefault(), System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 50;
        var builder = AllInOne.CreateBuilder(args, data, new Dictionary<string, string?> { ["Urls"] = "http://127.0.0.1:5080" });
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapCredentialsApi();
        app.MapCertificatesApi();
        // The simulated fleet's device ids, for the operator page's "use the simulated fleet" (serve only; authenticated).
        app.MapGet("/api/demo-fleet", (InProcessDeviceFleet fleet) => Results.Ok(new { deviceIds = fleet.Devices.Keys.Order() }))
            .RequireAuthorization(ApiRoles.ReadPolicy).ExcludeFromDescription();
        await app.StartAsync();
        var devices = await SimulatedFleet.ForServeAsync(app.Services, Path.GetFullPath(data), count);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:5080";
        address = address.TrimEnd('/') + "/";
        Console.WriteLine($"Decommission is serving {address} (data in {Path.GetFullPath(data)}; Ctrl+C stops it, the data stays).");
        Console.WriteLine($"Simulated fleet: {devices.Count} devices ({devices[0].Id} … {devices[^1].Id}; one in ten fails its erase), enrolled; "
            + $"start a campaign over them on {address}operator.");
        var keys = app.Services.GetRequiredService<ApiKeyStore>();
        await app.Services.GetRequiredService<CertificatesDatabase>().MigrateAsync();
        if (await keys.CountActiveAsync() == 0)
        {
            Console.WriteLine("First run: an operator key and an auditor key were made. They are shown only this once (only their hashes are kept):");
            foreach (var role in new[] { ApiRoles.Operator, ApiRoles.Auditor })
            {
                var key = await keys.CreateAsync(role, role);
                Console.WriteLine($"  {role,-8} {key}");
                Console.WriteLine($"           open {address}#key={Uri.EscapeDataString(key)}");
            }
            Console.WriteLine($"Send a key as the {ApiKeyAuthenticationHandler.Header} header to the API; decom takes it as DECOM_API_KEY.");
        }
        else
        {
            Console.WriteLine("API keys were made on the first run with this data directory (shown then only). More: the certificates service's create-api-key.");
        }
        await app.WaitForShutdownAsync();
        return 0;
    }
}
