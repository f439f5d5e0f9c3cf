namespace Decommission.Contracts;

/// <summary>Resumes a failed retirement from the step it failed in.</summary>
public record RetryRetirement
{
    public Guid RetirementId { get; init; }
    public string RequestedBy { get; init; } = "";
}
