namespace Decommission.Contracts;

/// <summary>A retirement was cancelled before its erase command was sent.</summary>
public record RetirementCancelled
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string RequestedBy { get; init; } = "";
    public string Reason { get; init; } = "";
    public DateTimeOffset CancelledAt { get; init; }
}
