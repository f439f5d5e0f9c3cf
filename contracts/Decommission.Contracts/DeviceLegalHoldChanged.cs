namespace Decommission.Contracts;

/// <summary>Published by the inventory whenever a device's legal hold is set or released; the gateway erases no held device.</summary>
public record DeviceLegalHoldChanged
{
    public string DeviceId { get; init; } = "";
    public bool Held { get; init; }
    public string Reason { get; init; } = "";
    public string ChangedBy { get; init; } = "";
    public DateTimeOffset ChangedAt { get; init; }
}
