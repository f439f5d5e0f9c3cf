using MassTransit;

namespace Decommission.Contracts;

/// <summary>The certificates service issued no certificate: the evidence it was handed did not verify (Reason, Detail say which check).</summary>
public record DisposalCertificateRefused : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string DeviceId { get; init; } = "";
    public string Reason { get; init; } = "";
    public string Detail { get; init; } = "";
    public DateTimeOffset RefusedAt { get; init; }
}
