namespace Decommission.Contracts;

/// <summary>Lists retirements, newest first, optionally only those in one state.</summary>
public record ListRetirements
{
    public string? State { get; init; }
    public int Limit { get; init; } = 100;
}
