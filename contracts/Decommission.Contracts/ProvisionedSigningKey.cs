namespace Decommission.Contracts;

/// <summary>A gateway command-signing public key as provisioned to devices.</summary>
public record ProvisionedSigningKey
{
    /// <summary>Lower-case hex SHA-256 of <see cref="PublicKey"/>'s DER: what a command's keyId names.</summary>
    public string KeyId { get; init; } = "";
    /// <summary>Base64 DER SubjectPublicKeyInfo, ECDSA P-256.</summary>
    public string PublicKey { get; init; } = "";
    /// <summary>current or next.</summary>
    public string Status { get; init; } = "";
}
