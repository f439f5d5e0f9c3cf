namespace Decommission.Contracts;

/// <summary>Answers CountRetirements: the number of retirements in each state that has any.</summary>
public record RetirementCounts
{
    public IReadOnlyDictionary<string, int> ByState { get; init; } = new Dictionary<string, int>();
}
