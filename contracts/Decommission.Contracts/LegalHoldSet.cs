namespace Decommission.Contracts;

/// <summary>Answers SetLegalHold: the device's hold as it now stands, or Found = false for an unknown device.</summary>
public record LegalHoldSet
{
    public string DeviceId { get; init; } = "";
    public bool Found { get; init; }
    public bool Hold { get; init; }
    public string Reason { get; init; } = "";
}
