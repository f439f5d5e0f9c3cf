namespace Decommission.Contracts;

/// <summary>Answers PreviewEndOfLife: the devices due, soonest first, and how many there are in all.</summary>
public record EndOfLifePreview
{
    public int Total { get; init; }
    public IReadOnlyList<DueDevice> Devices { get; init; } = [];
}
