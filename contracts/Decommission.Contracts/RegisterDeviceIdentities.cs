namespace Decommission.Contracts;

/// <summary>
/// Registers devices' identities with the device gateway: each a fleet-CA certificate over the device's attestation key,
/// which is what its wipe receipts are checked against. Answered with <see cref="DeviceIdentitiesRegistered"/>.
/// </summary>
public record RegisterDeviceIdentities
{
    public IReadOnlyList<DeviceIdentity> Identities { get; init; } = [];
    public string RegisteredBy { get; init; } = "";
}
