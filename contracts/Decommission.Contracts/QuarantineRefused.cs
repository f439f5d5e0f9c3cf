namespace Decommission.Contracts;

/// <summary>The credentials service could not quarantine the device (for example it has never been enrolled).</summary>
public record QuarantineRefused
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string Reason { get; init; } = "";
    public string Detail { get; init; } = "";
}
