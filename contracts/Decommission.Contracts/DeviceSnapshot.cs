namespace Decommission.Contracts;

/// <summary>The inventory's facts about a device at the moment its retirement was accepted (NIST SP 800-88 media fields).</summary>
public record DeviceSnapshot
{
    public string Manufacturer { get; init; } = "";
    public string Model { get; init; } = "";
    public string SerialNumber { get; init; } = "";
    public string AssetNumber { get; init; } = "";
    public string MediaType { get; init; } = "";
    public string Owner { get; init; } = "";
    public string Site { get; init; } = "";
}
