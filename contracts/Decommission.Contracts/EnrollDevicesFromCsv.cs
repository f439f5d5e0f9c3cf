namespace Decommission.Contracts;

/// <summary>Enrolls every device of a CSV (deviceId,attestationPublicKey,networkSegment), all or none.</summary>
public record EnrollDevicesFromCsv
{
    public string Csv { get; init; } = "";
    public string RequestedBy { get; init; } = "";
}
