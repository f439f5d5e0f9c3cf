using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Decommission.DeviceAgent;

public static class DeviceAgentExtensions
{
    /// <summary>Registers the simulated fleet (options from "DeviceAgent") as a hosted service; resolve <see cref="DeviceFleetService"/> to reach it.</summary>
    public static IHostApplicationBuilder AddDeviceAgent(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeviceFleetOptions>().BindConfiguration(DeviceFleetOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DeviceFleetService>();
        builder.Services.AddHostedService(services => services.GetRequiredService<DeviceFleetService>());
        return builder;
    }
}
