using System.Security.Cryptography;
using System.Text.Json;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.DeviceGateway.Commands;
using MassTransit;

namespace Decommission.Host;

/// <summary>
/// The in-process fleet of demo and serve: simulated devices that keep their keys, data and erase journal on disk under
/// the data directory (as the device agent's do), imported into the inventory and enrolled like any fleet.
/// </summary>
public static class SimulatedFleet
{
    /// <summary>Adds <paramref name="specs"/> to the process's fleet, each with its state in <paramref name="devicesDirectory"/>
    /// (a device already there comes back with its keys).</summary>
    public static async Task AddAsync(IServiceProvider services, IEnumerable<DeviceSpec> specs, string devicesDirectory)
    {
        var fleet = services.GetRequiredService<InProcessDeviceFleet>();
        using var gatewayKey = ECDsa.Create();
        gatewayKey.ImportFromPem(await File.ReadAllTextAsync(services.GetRequiredService<CommandSigningKey>().PublicKeyPath));
        foreach (var spec in specs)
            fleet.Add(new SimulatedDevice(spec, [gatewayKey.ExportSubjectPublicKeyInfo()], DateTimeOffset.UtcNow,
                disk: DeviceStateDirectory.Open(devicesDirectory, spec.Id)));
    }

    /// <summary>Imports every device of the fleet into the inventory and enrolls it; how many were imported.</summary>
    public static async Task<int> EnrollAsync(IServiceProvider services, string requestedBy)
    {
        var bus = services.GetRequiredService<IBus>();
        var devices = services.GetRequiredService<InProcessDeviceFleet>().Devices.Values.OrderBy(d => d.Id).ToList();
        var inventoryCsv = "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n" + string.Join("\n",
            devices.Select((d, i) => $"{d.Id},Acme Sensors,TH-200,SN-{100000 + i},ASSET-{i + 1:D4},eMMC 8 GB,Plant operations,Lyon plant,floor-a,"));
        var imported = await bus.CreateRequestClient<ImportDevices>(new Uri($"queue:{QueueNames.Inventory}"))
            .GetResponse<DevicesImported>(new ImportDevices { Csv = inventoryCsv, RequestedBy = requestedBy });
        var credentialsCsv = "deviceId,attestationPublicKey,networkSegment\n" +
            string.Join("\n", devices.Select(d => $"{d.Id},{Convert.ToBase64String(d.AttestationPublicKey)},floor-a"));
        var enrolled = await bus.CreateRequestClient<EnrollDevicesFromCsv>(new Uri($"queue:{QueueNames.EnrollDevice}"))
            .GetResponse<DevicesEnrolled, EnrollmentRejected>(new EnrollDevicesFromCsv { Csv = credentialsCsv, RequestedBy = requestedBy },
                timeout: RequestTimeout.After(s: 120));
        if (!enrolled.Is(out Response<DevicesEnrolled>? _))
            throw new InvalidOperationException("the simulated fleet could not be enrolled");

        // Enrollment registers each attestation key with the gateway; wait until it has them all.
        var attestationKeys = services.GetRequiredService<AttestationKeyStore>();
        while (await attestationKeys.CountAsync() < devices.Count)
            await Task.Delay(50);
        return imported.Message.Imported;
    }

    /// <summary>
    /// serve's fleet: made, enrolled and written to <c>serve-fleet.json</c> on the first run (one device in ten's erase fails,
    /// so a campaign has failures to show); read back on later runs, each device with its state from disk.
    /// </summary>
    public static async Task<IReadOnlyList<DeviceSpec>> ForServeAsync(IServiceProvider services, string dataDirectory, int count)
    {
        var file = Path.Combine(dataDirectory, "serve-fleet.json");
        var devices = Path.Combine(dataDirectory, "devices");
        if (File.Exists(file))
        {
            var known = JsonSerializer.Deserialize<List<DeviceSpec>>(await File.ReadAllTextAsync(file)) ?? [];
            await AddAsync(services, known, devices);
            return known;
        }
        var specs = Enumerable.Range(1, count).Select(i => new DeviceSpec
        {
            Id = $"serve-{i:D3}", Behaviour = i % 10 == 0 ? DeviceBehaviour.EraseFails : DeviceBehaviour.Healthy,
        }).ToList();
        await AddAsync(services, specs, devices);
        await EnrollAsync(services, "serve");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(specs));
        return specs;
    }
}
