namespace Decommission.Contracts;

/// <summary>What a verified wipe receipt proves: keys destroyed, areas covered and not covered, the device's own check.</summary>
public record ErasureEvidence
{
    public string Method { get; init; } = "";
    public IReadOnlyList<string> DestroyedKeyIds { get; init; } = [];
    public IReadOnlyList<string> AreasCovered { get; init; } = [];
    public IReadOnlyList<string> AreasNotCovered { get; init; } = [];
    public bool SelfCheckPassed { get; init; }
    public DateTimeOffset CompletedAt { get; init; }
    public string ReceiptSha256 { get; init; } = "";
}
