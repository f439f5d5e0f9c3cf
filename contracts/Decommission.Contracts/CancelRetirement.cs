namespace Decommission.Contracts;

/// <summary>Cancels a retirement; accepted until the erase command has been sent.</summary>
public record CancelRetirement
{
    public Guid RetirementId { get; init; }
    public string RequestedBy { get; init; } = "";
    public string Reason { get; init; } = "";
}
