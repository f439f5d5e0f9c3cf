namespace Decommission.Contracts;

/// <summary>Answers a credential check; Kind names the credential the secret matched, Reason why it is not valid.</summary>
public record CredentialChecked
{
    public string DeviceId { get; init; } = "";
    public bool Valid { get; init; }
    public string Kind { get; init; } = "";
    public string Reason { get; init; } = "";
}
