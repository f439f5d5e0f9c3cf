using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.DeviceAgent;

/// <summary>Runs the fleet in a host: its enrollment CSV is written at start; each device comes online when its bundle appears.</summary>
public sealed class DeviceFleetService(IOptions<DeviceFleetOptions> options, TimeProvider time, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    /// <summary>The running fleet; null before start.</summary>
    public DeviceFleet? Fleet { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Fleet = DeviceFleet.Create(options.Value, time, loggers);
        if (options.Value.AttestationKeysOut is { Length: > 0 } path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            await using (var writer = new StreamWriter(path))
                await Fleet.WriteAttestationKeysCsvAsync(writer, options.Value.NetworkSegment);
            loggers.CreateLogger<DeviceFleetService>().LogInformation("Attestation keys of {Count} devices written to {Path}", Fleet.AttestationPublicKeys.Count, path);
        }
        await Fleet.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Fleet?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    public ValueTask DisposeAsync() => Fleet?.DisposeAsync() ?? ValueTask.CompletedTask;
}
