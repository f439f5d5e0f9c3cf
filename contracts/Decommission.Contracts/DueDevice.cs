namespace Decommission.Contracts;

/// <summary>A device whose end-of-life date falls due.</summary>
public record DueDevice
{
    public string DeviceId { get; init; } = "";
    public DateOnly EndOfLife { get; init; }
    public string Site { get; init; } = "";
    public string Model { get; init; } = "";
}
