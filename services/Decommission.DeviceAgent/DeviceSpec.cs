namespace Decommission.DeviceAgent;

/// <summary>One simulated device: its id, how it behaves, and the timing its behaviour needs.</summary>
public sealed class DeviceSpec
{
    public string Id { get; set; } = "";
    public DeviceBehaviour Behaviour { get; set; }
    /// <summary>For <see cref="DeviceBehaviour.OfflineUntil"/>: when it starts taking commands.</summary>
    public DateTimeOffset? OfflineUntil { get; set; }
    /// <summary>For <see cref="DeviceBehaviour.Slow"/>: how long it takes to answer.</summary>
    public TimeSpan? Delay { get; set; }
}
