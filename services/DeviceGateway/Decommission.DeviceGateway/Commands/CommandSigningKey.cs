using System.Security.Cryptography;
using Decommission.DeviceProtocol;
using Decommission.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// The gateway's ECDSA P-256 command-signing key: a PKCS#8 PEM file readable by its owner only, created on first start.
/// The public half is written beside it for devices to verify commands and verdicts with. A next key may be held beside
/// it (<see cref="DeviceGatewayOptions.NextSigningKeyPath"/>): it signs nothing until promoted, but its public half is
/// written out too, so devices can be provisioned with both before the switch (docs/device-protocol.md, "Key rotation").
/// </summary>
public sealed class CommandSigningKey : IDisposable
{
    private readonly ECDsa _key;
    private readonly ECDsa? _next;

    public CommandSigningKey(IOptions<DeviceGatewayOptions> options, ILogger<CommandSigningKey> logger)
    {
        (_key, PublicKeyPath) = LoadOrCreate(options.Value.SigningKeyPath, "command-signing key", logger);
        KeyId = ProtocolSigning.KeyId(_key);
        if (!string.IsNullOrEmpty(options.Value.NextSigningKeyPath))
        {
            (_next, NextPublicKeyPath) = LoadOrCreate(options.Value.NextSigningKeyPath, "next command-signing key", logger);
            NextKeyId = ProtocolSigning.KeyId(_next);
            if (NextKeyId == KeyId)
                throw new InvalidOperationException("The next command-signing key is the current one; give NextSigningKeyPath a key of its own.");
            logger.LogInformation("Signing with command-signing key {KeyId}; holding the next key {NextKeyId} ({NextPublicKeyPath}) for rotation",
                KeyId, NextKeyId, NextPublicKeyPath);
        }
        if (!string.IsNullOrEmpty(options.Value.PublicKeyExportPath))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Value.PublicKeyExportPath))!);
            File.WriteAllText(options.Value.PublicKeyExportPath, _key.ExportSubjectPublicKeyInfoPem());
        }
    }

    public string KeyId { get; }

    /// <summary>Where the public key is, for devices.</summary>
    public string PublicKeyPath { get; }

    /// <summary>The next key's id, when one is held.</summary>
    public string? NextKeyId { get; }

    /// <summary>Where the next key's public half is, for provisioning devices ahead of the switch.</summary>
    public string? NextPublicKeyPath { get; }

    /// <summary>The public keys (SubjectPublicKeyInfo) devices should trust now: the current one, then the next one if held.</summary>
    public IReadOnlyList<byte[]> PublicKeys => _next is null
        ? [_key.ExportSubjectPublicKeyInfo()]
        : [_key.ExportSubjectPublicKeyInfo(), _next.ExportSubjectPublicKeyInfo()];

    public EraseCommand Sign(EraseCommand unsigned)
    {
        var command = unsigned with { KeyId = KeyId, Signature = "" };
        return command with { Signature = ProtocolSigning.Sign(_key, command.SignedBytes()) };
    }

    public EraseVerdict Sign(EraseVerdict unsigned)
    {
        var verdict = unsigned with { KeyId = KeyId, Signature = "" };
        return verdict with { Signature = ProtocolSigning.Sign(_key, verdict.SignedBytes()) };
    }

    public void Dispose()
    {
        _key.Dispose();
        _next?.Dispose();
    }

    /// <summary>Reads the owner-only PEM at <paramref name="configuredPath"/>, or creates it; writes its public half beside it as <c>.pub.pem</c>.</summary>
    private static (ECDsa Key, string PublicKeyPath) LoadOrCreate(string configuredPath, string what, ILogger logger)
    {
        var path = Path.GetFullPath(configuredPath);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(path))
        {
            if (!OwnerOnlyFile.IsOwnerOnly(path))
            {
                key.Dispose();
                throw new InvalidOperationException($"The {what} {path} is readable by others; make it owner-only (chmod 600).");
            }
            key.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            OwnerOnlyFile.Write(path, key.ExportPkcs8PrivateKeyPem());
            logger.LogInformation("Created {What} {KeyId} at {Path}", what, ProtocolSigning.KeyId(key), path);
        }
        var publicKeyPath = Path.ChangeExtension(path, null).Replace(".key", "", StringComparison.Ordinal) + ".pub.pem";
        File.WriteAllText(publicKeyPath, key.ExportSubjectPublicKeyInfoPem());
        return (key, publicKeyPath);
    }
}
