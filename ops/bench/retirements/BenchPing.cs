namespace Decommission.Bench;

/// <summary>The ceiling's message: as small as a message gets.</summary>
public sealed record BenchPing
{
    public int Sequence { get; init; }
}
