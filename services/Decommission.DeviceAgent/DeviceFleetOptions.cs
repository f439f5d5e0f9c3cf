using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace Decommission.DeviceAgent;

/// <summary>Bound from the "DeviceAgent" section: where the devices' provisioning bundles appear, and which devices to simulate.</summary>
public sealed partial class DeviceFleetOptions : IValidatableObject
{
    public const string Section = "DeviceAgent";

    /// <summary>Where enrollment puts each device's provisioning bundle, <c>&lt;deviceId&gt;.json</c>: its identity certificate, the
    /// broker's CA and addresses, the command-signing keys it trusts. A device comes online when its bundle appears.</summary>
    [Required]
    public string ProvisioningDirectory { get; set; } = "data/device-agent/provisioning";

    /// <summary>Where each device keeps its state across restarts, as hardware does: one owner-only directory per device with its
    /// attestation private key, its encrypted data and wrapped media keys, its erase journal and its answers (DeviceStateDirectory).</summary>
    [Required]
    public string DataDirectory { get; set; } = "data/device-agent/devices";

    /// <summary>How often the provisioning directory is looked at for new bundles.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ProvisioningPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Where the fleet's attestation public keys are written as an enrollment CSV (deviceId,attestationPublicKey,networkSegment).</summary>
    public string? AttestationKeysOut { get; set; }

    /// <summary>The network segment the simulated devices sit on, written into the enrollment CSV.</summary>
    [Required]
    public string NetworkSegment { get; set; } = "simulated";

    /// <summary>Explicit devices; when empty, <see cref="DeviceCount"/> devices are generated from <see cref="Mix"/>.</summary>
    public List<DeviceSpec> Devices { get; set; } = [];

    [Range(0, 100_000)]
    public int DeviceCount { get; set; }

    /// <summary>How many generated devices behave each way; the rest are healthy. A mix that asks for more devices than
    /// <see cref="DeviceCount"/> is scaled down to fit, in proportion (rounded down): the default mix is written for a
    /// fleet of 200, and a fleet of 3 gets one slow device and two healthy ones.</summary>
    public Dictionary<DeviceBehaviour, int> Mix { get; set; } = [];

    /// <summary>Generated device ids are this prefix and a five-digit number.</summary>
    [Required]
    public string IdPrefix { get; set; } = "sim-";

    /// <summary>How long slow devices take to answer, unless their spec says otherwise.</summary>
    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long offline devices stay offline after the fleet starts, unless their spec says otherwise.</summary>
    public TimeSpan OfflineFor { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The devices to simulate, with every timing their behaviour needs filled in.</summary>
    public IReadOnlyList<DeviceSpec> ResolveDevices(DateTimeOffset startedAt)
    {
        var specs = Devices.Count > 0 ? Devices : GeneratedDevices();
        return [.. specs.Select(spec => new DeviceSpec
        {
            Id = spec.Id,
            Behaviour = spec.Behaviour,
            OfflineUntil = spec.Behaviour == DeviceBehaviour.OfflineUntil ? spec.OfflineUntil ?? startedAt + OfflineFor : null,
            Delay = spec.Behaviour == DeviceBehaviour.Slow ? spec.Delay ?? SlowDelay : null,
        })];
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Devices.Count == 0 && DeviceCount == 0)
            yield return new ValidationResult("Give DeviceCount or a list of Devices.", [nameof(DeviceCount), nameof(Devices)]);
        if (Devices.DistinctBy(spec => spec.Id).Count() != Devices.Count)
            yield return new ValidationResult("Every device needs its own Id.", [nameof(Devices)]);
        if (Devices.Select(spec => spec.Id).Append(IdPrefix + "0").FirstOrDefault(id => !DeviceIdPattern().IsMatch(id)) is { } badId)
            yield return new ValidationResult($"Device id '{badId}' may hold only letters, digits, '_' and '-' (at most 64).", [nameof(Devices), nameof(IdPrefix)]);
    }

    // Ids are broker user names, MQTT client ids and topic words (a '.', '*' or '#' would reach other devices' topics), and CSV cells.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex DeviceIdPattern();

    /// <summary>How many generated devices behave each way, the mix scaled down to the fleet when it asks for more.</summary>
    public IReadOnlyDictionary<DeviceBehaviour, int> EffectiveMix()
    {
        var asked = Mix.Where(m => m.Value > 0).ToDictionary(m => m.Key, m => m.Value);
        var total = asked.Values.Sum();
        return total <= DeviceCount
            ? asked
            : asked.ToDictionary(m => m.Key, m => (int)((long)m.Value * DeviceCount / total));
    }

    private IEnumerable<DeviceSpec> GeneratedDevices()
    {
        // In the order of the behaviours' declaration, whatever order configuration gave them in: a run is reproducible.
        var mix = EffectiveMix();
        var behaviours = mix.Where(m => m.Value > 0).OrderBy(m => m.Key).SelectMany(m => Enumerable.Repeat(m.Key, m.Value));
        return behaviours.Concat(Enumerable.Repeat(DeviceBehaviour.Healthy, Math.Max(0, DeviceCount - mix.Values.Sum())))
            .Select((behaviour, i) => new DeviceSpec { Id = $"{IdPrefix}{i + 1:D5}", Behaviour = behaviour });
    }
}
