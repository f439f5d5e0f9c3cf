using MassTransit;

namespace Decommission.Contracts;

/// <summary>Resumes a failed retirement from the step it failed in.</summary>
public record RetryRetirement : CorrelatedBy<Guid>
{
    public Guid RetirementId { get; init; }
    Guid CorrelatedBy<Guid>.CorrelationId => RetirementId;
    public string RequestedBy { get; init; } = "";
    /// <summary>Why it is retried (optional; written in the audit trail beside the retry).</summary>
    public string Reason { get; init; } = "";
}
