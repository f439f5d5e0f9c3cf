using Decommission.Certificates;
using Decommission.Credentials;
using Decommission.DeviceGateway;
using Decommission.DeviceGateway.Channel;
using Decommission.Inventory;
using Decommission.Orchestrator;
using Decommission.ServiceDefaults;

namespace Decommission.Host;

/// <summary>Every service's own registration in one process, over MassTransit's in-memory transport, data under one directory.</summary>
public static class AllInOne
{
    public static WebApplicationBuilder CreateBuilder(string[] args, string dataDirectory, IDictionary<string, string?> overrides)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var data = Path.GetFullPath(dataDirectory);
        var defaults = new Dictionary<string, string?>
        {
            ["Bus:Transport"] = "InMemory",
            ["Orchestrator:DatabasePath"] = Path.Combine(data, "db", "orchestrator.db"),
            ["Inventory:DatabasePath"] = Path.Combine(data, "db", "inventory.db"),
            ["Credentials:DatabasePath"] = Path.Combine(data, "db", "credentials.db"),
            ["Credentials:DataDirectory"] = data,                 // → ca/, crl/
            ["DeviceGateway:DatabasePath"] = Path.Combine(data, "db", "device-gateway.db"),
            ["DeviceGateway:SigningKeyPath"] = Path.Combine(data, "keys", "command-signing.key.pem"),
            ["DeviceGateway:FleetCaCertificatePath"] = Path.Combine(data, "ca", "fleet-ca.pem"),
            // The certificates service checks the evidence itself: against the fleet CA and the gateway's command-signing key.
            ["Certificates:FleetCaCertificatePath"] = Path.Combine(data, "ca", "fleet-ca.pem"),
            ["Certificates:CommandSigningPublicKeyPath"] = Path.Combine(data, "keys", "command-signing.pub.pem"),
            ["Certificates:DatabasePath"] = Path.Combine(data, "db", "certificates.db"),
            ["Certificates:DataDirectory"] = data,                // → certificates/, signing/
        };
        foreach (var (key, value) in overrides)
            defaults[key] = value;
        // Defaults first, so appsettings, environment and command line still win.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = defaults });

        builder.AddServiceDefaults();
        builder.Services.AddSingleton<InProcessDeviceFleet>();
        builder.Services.AddSingleton<IDeviceChannel>(sp => sp.GetRequiredService<InProcessDeviceFleet>());
        builder.AddOrchestratorService();
        builder.AddInventoryService();
        builder.AddCredentialsService();
        builder.AddDeviceGatewayService();
        builder.AddCertificatesService();
        builder.AddMessageBus();
        return builder;
    }
}
