namespace Decommission.Contracts;

/// <summary>Asks for a retirement's status by retirement id, or for the latest retirement of a device.</summary>
public record GetRetirementStatus
{
    public Guid? RetirementId { get; init; }
    public string? DeviceId { get; init; }
}
