namespace Decommission.Contracts;

/// <summary>One operational credential that was revoked (never the secret itself).</summary>
public record RevokedCredential
{
    public string Kind { get; init; } = "";
    public string CredentialId { get; init; } = "";
    public DateTimeOffset RevokedAt { get; init; }
}
