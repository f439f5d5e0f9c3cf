using System.Collections.Concurrent;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceAgent;

/// <summary>
/// Simulated devices on the device channel, each its own MQTT client over TLS with its own certificate (<see cref="MqttDeviceLink"/>).
/// A device's attestation key exists from the start (the enrollment CSV lists it); the device comes online when its
/// provisioning bundle appears in the provisioning directory, and trusts the command-signing key in it. With a data directory,
/// each device keeps its keys, data, erase journal and answers there (<see cref="DeviceStateDirectory"/>): a restarted fleet
/// brings back the same devices with the same keys, and a device whose erase was accepted stays retired.
/// </summary>
public sealed class DeviceFleet : IAsyncDisposable
{
    /// <summary>TLS handshakes at once, across the fleet (connects and reconnects): a broker that dropped everyone is not stampeded.</summary>
    private const int ConnectingAtOnce = 32;

    private readonly ProvisioningDirectory _provisioning;
    private readonly TimeSpan _pollInterval;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly Dictionary<string, DeviceIdentityKey> _keys;
    private readonly ConcurrentDictionary<string, SimulatedDevice> _devices = new();
    private readonly ConcurrentDictionary<string, MqttDeviceLink> _links = new();
    private readonly List<Task> _running = [];
    private readonly SemaphoreSlim _connecting = new(ConnectingAtOnce, ConnectingAtOnce);
    private readonly CancellationTokenSource _stopping = new();
    private readonly FileStream? _dataLock;
    private Task? _watch;

    /// <param name="dataDirectory">Where the devices keep their state, one owner-only directory each; null: in memory only.</param>
    public DeviceFleet(string provisioningDirectory, IEnumerable<DeviceSpec> devices, TimeProvider time, ILoggerFactory loggers,
        TimeSpan? pollInterval = null, string? dataDirectory = null)
    {
        _provisioning = new ProvisioningDirectory(provisioningDirectory, loggers.CreateLogger<ProvisioningDirectory>());
        _pollInterval = pollInterval ?? TimeSpan.FromSeconds(1);
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<DeviceFleet>();
        DataDirectory = dataDirectory is null ? null : Path.GetFullPath(dataDirectory);
        _dataLock = DataDirectory is null ? null : LockDataDirectory(DataDirectory);
        _keys = devices.Select(spec => new DeviceIdentityKey(spec, DataDirectory is null ? null : DeviceStateDirectory.Open(DataDirectory, spec.Id)))
            .ToDictionary(key => key.Id);
    }

    /// <summary>
    /// One agent per data directory: two would connect the same devices with the same identities and kick each other off the
    /// broker. The lock (flock on <c>.lock</c>) goes with the process, even with <c>kill -9</c>.
    /// </summary>
    private static FileStream LockDataDirectory(string directory)
    {
        if (!Directory.Exists(directory))
            DeviceStateDirectory.CreateOwnerOnly(directory);
        try
        {
            return new FileStream(Path.Combine(directory, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"Another device agent uses the data directory {directory}: {e.Message}", e);
        }
    }

    /// <summary>The fleet <paramref name="options"/> describe.</summary>
    public static DeviceFleet Create(DeviceFleetOptions options, TimeProvider time, ILoggerFactory loggers) =>
        new(options.ProvisioningDirectory, options.ResolveDevices(time.GetUtcNow()), time, loggers, options.ProvisioningPollInterval, options.DataDirectory);

    /// <summary>Where the devices keep their state; null when they keep it in memory only.</summary>
    public string? DataDirectory { get; }

    /// <summary>Every device's attestation public key (SubjectPublicKeyInfo, DER), provisioned or not.</summary>
    public IReadOnlyDictionary<string, byte[]> AttestationPublicKeys => _keys.ToDictionary(k => k.Key, k => k.Value.PublicKey);

    /// <summary>The devices provisioned so far (their bundle has appeared).</summary>
    public IReadOnlyDictionary<string, SimulatedDevice> Devices => _devices;

    /// <summary>Whether the device is connected to the broker now.</summary>
    public bool IsConnected(string deviceId) => _links.TryGetValue(deviceId, out var link) && link.IsConnected;

    public int ConnectedCount => _links.Values.Count(link => link.IsConnected);

    /// <summary>Brings online every device whose bundle is there (one connection attempt each before this returns), then
    /// watches the directory for the others.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ProvisionAsync(cancellationToken);
        _watch = Task.Run(WatchAsync, CancellationToken.None);
        _logger.LogInformation("Device fleet started: {Summary}; {Online} of {Count} provisioned, bundles from {Directory}, device state in {DataDirectory}",
            string.Join(", ", _keys.Values.GroupBy(k => k.Spec.Behaviour).Select(group => $"{group.Count()} {group.Key}")),
            _devices.Count, _keys.Count, _provisioning.Path, DataDirectory ?? "memory");
    }

    /// <summary>
    /// Writes the enrollment CSV of the fleet: "deviceId,attestationPublicKey,networkSegment" rows (the key as base64
    /// SubjectPublicKeyInfo) under a header, ready for <c>decom devices enroll</c>.
    /// </summary>
    public async Task WriteAttestationKeysCsvAsync(TextWriter writer, string networkSegment)
    {
        await writer.WriteAsync("deviceId,attestationPublicKey,networkSegment\n");
        foreach (var key in _keys.Values)
            await writer.WriteAsync($"{key.Id},{Convert.ToBase64String(key.PublicKey)},{networkSegment}\n");
    }

    private async Task WatchAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_pollInterval, _time, _stopping.Token);
                await ProvisionAsync(_stopping.Token);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Could not read the provisioning directory {Directory}", _provisioning.Path);
            }
        }
    }

    /// <summary>Every device whose bundle has appeared since the last look comes online; its first connection is tried here.</summary>
    private async Task ProvisionAsync(CancellationToken cancellationToken)
    {
        var pending = _keys.Values.Where(key => !_devices.ContainsKey(key.Id)).ToList();
        var arrived = _provisioning.Read(pending);
        await Parallel.ForEachAsync(arrived, new ParallelOptions { MaxDegreeOfParallelism = ConnectingAtOnce, CancellationToken = cancellationToken },
            async (found, ct) => await ComeOnlineAsync(found.Key, found.Bundle, ct));
    }

    private async Task ComeOnlineAsync(DeviceIdentityKey key, ProvisioningBundle bundle, CancellationToken cancellationToken)
    {
        // Every key it was provisioned with: the current one and, during a rotation, the next.
        var trusted = bundle.CommandSigningKeys.Select(k => Convert.FromBase64String(k.PublicKey)).ToList();
        if (key.IsDestroyed)
        {
            // Retired before this start: its erase was accepted and its identity destroyed. It has nothing to connect with.
            _devices[key.Id] = new SimulatedDevice(key.Spec, trusted, _time.GetUtcNow(), _loggers.CreateLogger<SimulatedDevice>(), null, key.Disk);
            _logger.LogInformation("Device {DeviceId} is retired (its erase was accepted, its attestation key destroyed): it stays offline", key.Id);
            return;
        }
        var certificate = key.ClientCertificate(bundle);
        var device = new SimulatedDevice(key.Spec, trusted, _time.GetUtcNow(),
            _loggers.CreateLogger<SimulatedDevice>(), key.TakeKey(), key.Disk);
        var link = new MqttDeviceLink(device, bundle, certificate, _connecting, _time, _loggers.CreateLogger<MqttDeviceLink>());
        _links[key.Id] = link;
        _devices[key.Id] = device;
        switch (device.Behaviour)
        {
            case DeviceBehaviour.NeverAnswers:
                // Provisioned, but never connects: its commands wait on the broker until they expire.
                return;
            case DeviceBehaviour.OfflineUntil:
                Track(ComeBackLaterAsync(device, link));
                return;
            default:
                var connected = await link.TryConnectAsync(cancellationToken);
                Track(link.StayConnectedAsync(connected, _stopping.Token));
                return;
        }
    }

    private async Task ComeBackLaterAsync(SimulatedDevice device, MqttDeviceLink link)
    {
        var away = device.Spec.OfflineUntil.GetValueOrDefault() - _time.GetUtcNow();
        try
        {
            if (away > TimeSpan.Zero)
                await Task.Delay(away, _time, _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        _logger.LogInformation("Device {DeviceId} comes online", device.Id);
        await link.StayConnectedAsync(await link.TryConnectAsync(_stopping.Token), _stopping.Token);
    }

    private void Track(Task task)
    {
        lock (_running)
            _running.Add(task);
    }

    /// <summary>Disconnects every device; a command being answered stays unacknowledged and comes again at the next start.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
            return;
        await _stopping.CancelAsync();
        if (_watch is not null)
            await _watch;
        Task[] running;
        lock (_running)
            running = [.. _running];
        await Task.WhenAll(running);
        await Parallel.ForEachAsync(_links.Values, cancellationToken, async (link, _) => await link.DisposeAsync());
        _links.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        foreach (var device in _devices.Values)
            device.Dispose();
        foreach (var key in _keys.Values)
            key.Dispose();
        _stopping.Dispose();
        _connecting.Dispose();
        _dataLock?.Dispose();
    }
}
