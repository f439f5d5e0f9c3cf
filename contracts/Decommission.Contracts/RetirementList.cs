namespace Decommission.Contracts;

/// <summary>Answers ListRetirements.</summary>
public record RetirementList
{
    public IReadOnlyList<RetirementSummary> Retirements { get; init; } = [];
}
