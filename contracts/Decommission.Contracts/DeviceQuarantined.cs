using MassTransit;

namespace Decommission.Contracts;

/// <summary>The device's operational credentials are revoked and it sits on the decommission network segment.</summary>
public record DeviceQuarantined : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string DeviceId { get; init; } = "";
    public IReadOnlyList<RevokedCredential> RevokedCredentials { get; init; } = [];
    public string NetworkSegment { get; init; } = "";
    public DateTimeOffset QuarantinedAt { get; init; }
}
