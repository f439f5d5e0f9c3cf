namespace Decommission.Contracts;

/// <summary>A device whose end-of-life date falls due.</summary>
public record DueDevice
{
    public string DeviceId { get; init; } = "";
    public DateOnly EndOfLife { get; init; }
    public string Site { get; init; } = "";
    public string Model { get; init; } = "";
    /// <summary>The end-of-life scheduler's campaign it was handed to, if it was (it stays listed until its retirement begins).</summary>
    public Guid? CampaignId { get; init; }
}
