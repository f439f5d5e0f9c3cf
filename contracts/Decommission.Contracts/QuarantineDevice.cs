namespace Decommission.Contracts;

/// <summary>Orders the credentials service to revoke the device's operational credentials and move it to the decommission segment.</summary>
public record QuarantineDevice
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
}
