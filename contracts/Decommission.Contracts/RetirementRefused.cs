namespace Decommission.Contracts;

/// <summary>The inventory refused the retirement; Reason is one of <see cref="RefusalReasons"/>.</summary>
public record RetirementRefused
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public string Reason { get; init; } = "";
    public string Detail { get; init; } = "";
}
