namespace Decommission.Contracts;

/// <summary>Orders the credentials service to revoke the device's identity certificate and publish it on the CRL.</summary>
public record RevokeIdentity
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
}
