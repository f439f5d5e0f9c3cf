namespace Decommission.Contracts;

/// <summary>A witnessed physical destruction of a device that could not be erased.</summary>
public record PhysicalDestruction
{
    public string Method { get; init; } = "";
    public string PerformedBy { get; init; } = "";
    public string Witness { get; init; } = "";
    public string Location { get; init; } = "";
    public DateTimeOffset DestroyedAt { get; init; }
}
