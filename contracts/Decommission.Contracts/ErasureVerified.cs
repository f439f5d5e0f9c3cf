using MassTransit;

namespace Decommission.Contracts;

/// <summary>The device's signed wipe receipt verified against its attestation key, nonce, command and policy.</summary>
public record ErasureVerified : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string DeviceId { get; init; } = "";
    public Guid CommandId { get; init; }
    /// <summary>The nonce of the command the receipt answers: the saga believes only an answer to its own command.</summary>
    public string Nonce { get; init; } = "";
    public ErasureEvidence Evidence { get; init; } = new();
    public DateTimeOffset VerifiedAt { get; init; }
}
