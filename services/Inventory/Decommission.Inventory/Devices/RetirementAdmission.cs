using Decommission.Contracts;

namespace Decommission.Inventory.Devices;

/// <summary>
/// May this device be retired now, by this retirement? A pure rule over the device as the inventory holds it: an unknown
/// device, one already disposed of, one under legal hold, or one another retirement is retiring is refused, with the reason.
/// </summary>
public static class RetirementAdmission
{
    /// <summary>Null when the retirement is admitted; otherwise why not. A repeat of the retirement that holds the device is admitted again.</summary>
    public static AdmissionRefusal? Decide(string deviceId, Guid retirementId, InventoryDevice? device) => device switch
    {
        null => new(RefusalReasons.UnknownDevice, $"device {deviceId} is not in the inventory"),
        { Status: DeviceStatuses.Disposed } => new(RefusalReasons.AlreadyDisposed, $"device {deviceId} was already disposed of"),
        { LegalHold: true } => new(RefusalReasons.LegalHold, $"device {deviceId} is under legal hold: {device.HoldReason}"),
        { Status: DeviceStatuses.Retiring } when device.RetirementId != retirementId.ToString() =>
            new(RefusalReasons.AlreadyRetiring, $"device {deviceId} is being retired by {device.RetirementId}"),
        _ => null,
    };
}

/// <summary>Why a retirement was not admitted: a <see cref="RefusalReasons"/> name and the detail.</summary>
public sealed record AdmissionRefusal(string Reason, string Detail);

/// <summary>A device as the inventory holds it, with what the admission rule looks at.</summary>
public sealed record InventoryDevice(string DeviceId, string Manufacturer, string Model, string SerialNumber, string AssetNumber, string MediaType,
    string Owner, string Site, bool LegalHold, string HoldReason, string Status, string? RetirementId);

/// <summary>A device's status in the inventory (column devices.status).</summary>
public static class DeviceStatuses
{
    public const string Active = nameof(Active);
    public const string Retiring = nameof(Retiring);
    public const string Disposed = nameof(Disposed);
    public const string Failed = nameof(Failed);
}
