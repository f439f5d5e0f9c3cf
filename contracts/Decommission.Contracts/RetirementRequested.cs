namespace Decommission.Contracts;

/// <summary>A retirement has started; the inventory answers with RetirementAccepted or RetirementRefused.</summary>
public record RetirementRequested
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string Reason { get; init; } = "";
    public string RequestedBy { get; init; } = "";
    public DateTimeOffset RequestedAt { get; init; }
}
