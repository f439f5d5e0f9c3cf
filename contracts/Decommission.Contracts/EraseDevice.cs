namespace Decommission.Contracts;

/// <summary>Orders the device gateway to send (or re-send, same command id and nonce) a signed crypto-erase command.</summary>
public record EraseDevice
{
    public Guid RetirementId { get; init; }
    public string DeviceId { get; init; } = "";
    public Guid CommandId { get; init; }
    /// <summary>The saga's fresh nonce for this command (at least 256 random bits, base64url); the receipt must echo it.</summary>
    public string Nonce { get; init; } = "";
    public int Attempt { get; init; }
    public DateTimeOffset AttemptExpiresAt { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
}
