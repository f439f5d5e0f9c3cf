namespace Decommission.Contracts;

/// <summary>A device's operational secrets, handed to the enrolling caller once and never stored in clear.</summary>
public record DeviceSecrets
{
    public string CloudToken { get; init; } = "";
    public string ApiKey { get; init; } = "";
    public string AdminPassword { get; init; } = "";
}
