namespace Decommission.Contracts;

/// <summary>Answers an import: how many rows were imported, and each bad row by line (bad rows are not imported).</summary>
public record DevicesImported
{
    public int Imported { get; init; }
    public IReadOnlyList<LineProblem> Problems { get; init; } = [];
}
