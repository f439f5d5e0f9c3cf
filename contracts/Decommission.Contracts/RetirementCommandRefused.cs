namespace Decommission.Contracts;

/// <summary>A cancel, retry or destruction record was refused because the retirement's state does not allow it.</summary>
public record RetirementCommandRefused
{
    public Guid RetirementId { get; init; }
    public string Command { get; init; } = "";
    public string State { get; init; } = "";
    public string Reason { get; init; } = "";
}
