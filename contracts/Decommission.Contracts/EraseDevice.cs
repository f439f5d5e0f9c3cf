namespace Decommission.Contracts;

/// <summary>Orders the device gateway to send (or re-send, same command id and nonce) a signed crypto-erase command.</summary>
public record EraseDevice
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public Guid CommandId { get; init; }
    public int Attempt { get; init; }
    public DateTimeOffset AttemptExpiresAt { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
}
