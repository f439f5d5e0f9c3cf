using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceAgent;

// Not top-level statements: the all-in-one host references this project and has its own entry point.
public static class DeviceAgentProgram
{
    public static async Task<int> Main(string[] args)
    {
        // appsettings.json beside the binary, wherever the agent is started from.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; o.UseUtcTimestamp = true; });
        builder.AddDeviceAgent();
        using var host = builder.Build();
        try
        {
            await host.RunAsync();
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"Device agent stopped: {e.Message}");
            return 1;
        }
    }
}
