namespace Decommission.Contracts;

/// <summary>An enrollment was refused and nothing was enrolled; each problem names its CSV line (0 for a single device).</summary>
public record EnrollmentRejected
{
    public IReadOnlyList<LineProblem> Problems { get; init; } = [];
}
