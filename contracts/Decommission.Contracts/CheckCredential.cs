namespace Decommission.Contracts;

/// <summary>Asks whether a secret is still a valid operational credential of the device.</summary>
public record CheckCredential
{
    public string DeviceId { get; init; } = "";
    public string Secret { get; init; } = "";
}
