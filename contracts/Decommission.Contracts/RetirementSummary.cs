namespace Decommission.Contracts;

/// <summary>One retirement in a list.</summary>
public record RetirementSummary
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string State { get; init; } = "";
    public int EraseAttempts { get; init; }
    public string? FailureReason { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
}
