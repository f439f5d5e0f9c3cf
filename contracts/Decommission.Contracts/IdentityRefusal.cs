namespace Decommission.Contracts;

/// <summary>Why the device gateway refused a device's identity (for example: it already holds a different attestation key).</summary>
public record IdentityRefusal
{
    public string DeviceId { get; init; } = "";
    public string Reason { get; init; } = "";
}
