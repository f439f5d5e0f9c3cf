namespace Decommission.Contracts;

/// <summary>The retirement completed: the device holds nothing usable and a certificate proves it.</summary>
public record DeviceDecommissioned
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string SanitizationType { get; init; } = "";
    public string CertificateId { get; init; } = "";
    public DateTimeOffset CompletedAt { get; init; }
}
