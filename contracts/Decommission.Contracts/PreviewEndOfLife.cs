namespace Decommission.Contracts;

/// <summary>Lists the devices the end-of-life scheduler would retire within the next Days days, without retiring them.</summary>
public record PreviewEndOfLife
{
    public int Days { get; init; }
    public int Limit { get; init; } = 1000;
}
