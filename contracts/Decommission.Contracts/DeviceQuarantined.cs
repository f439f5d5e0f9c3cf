namespace Decommission.Contracts;

/// <summary>The device's operational credentials are revoked and it sits on the decommission network segment.</summary>
public record DeviceQuarantined
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public IReadOnlyList<RevokedCredential> RevokedCredentials { get; init; } = [];
    public string NetworkSegment { get; init; } = "";
    public DateTimeOffset QuarantinedAt { get; init; }
}
