namespace Decommission.Contracts;

/// <summary>Answers RegisterDeviceIdentities: the devices whose identity the gateway now holds, and those it refused, with why.</summary>
public record DeviceIdentitiesRegistered
{
    public IReadOnlyList<string> Registered { get; init; } = [];
    public IReadOnlyList<IdentityRefusal> Refused { get; init; } = [];
}
