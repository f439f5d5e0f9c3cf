namespace Decommission.Contracts;

/// <summary>No retirement matches a status query.</summary>
public record RetirementNotFound
{
    public Guid? RetirementId { get; init; }
    public string? DeviceId { get; init; }
}
