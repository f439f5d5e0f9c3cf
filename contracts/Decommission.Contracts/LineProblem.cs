namespace Decommission.Contracts;

/// <summary>What is wrong with one line of an imported file.</summary>
public record LineProblem
{
    public int Line { get; init; }
    public string Problem { get; init; } = "";
}
