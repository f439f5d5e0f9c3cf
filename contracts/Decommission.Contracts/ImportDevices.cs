namespace Decommission.Contracts;

/// <summary>Imports or updates inventory devices from CSV (header: deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife).</summary>
public record ImportDevices
{
    public string Csv { get; init; } = "";
    public string RequestedBy { get; init; } = "";
}
