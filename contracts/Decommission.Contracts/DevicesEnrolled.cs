namespace Decommission.Contracts;

/// <summary>Answers a CSV enrollment in which every row was valid: every device is enrolled.</summary>
public record DevicesEnrolled
{
    public IReadOnlyList<DeviceEnrolled> Devices { get; init; } = [];
    /// <summary>The rest of every device's provisioning bundle, when the credentials service provisions devices.</summary>
    public DeviceProvisioning? Provisioning { get; init; }
}
