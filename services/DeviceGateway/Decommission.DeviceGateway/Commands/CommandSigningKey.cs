using System.Security.Cryptography;
using Decommission.DeviceProtocol;
using Decommission.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// The gateway's ECDSA P-256 command-signing key: a PKCS#8 PEM file readable by its owner only, created on first start.
/// The public half is written beside it for devices to verify commands with.
/// </summary>
public sealed class CommandSigningKey : IDisposable
{
    private readonly ECDsa _key;

    public CommandSigningKey(IOptions<DeviceGatewayOptions> options, ILogger<CommandSigningKey> logger)
    {
        var path = Path.GetFullPath(options.Value.SigningKeyPath);
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(path))
        {
            if (!OwnerOnlyFile.IsOwnerOnly(path))
                throw new InvalidOperationException($"The command-signing key {path} is readable by others; make it owner-only (chmod 600).");
            _key.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            OwnerOnlyFile.Write(path, _key.ExportPkcs8PrivateKeyPem());
            logger.LogInformation("Created command-signing key {KeyId} at {Path}", ProtocolSigning.KeyId(_key), path);
        }
        KeyId = ProtocolSigning.KeyId(_key);
        PublicKeyPath = Path.ChangeExtension(path, null).Replace(".key", "", StringComparison.Ordinal) + ".pub.pem";
        File.WriteAllText(PublicKeyPath, _key.ExportSubjectPublicKeyInfoPem());
        if (!string.IsNullOrEmpty(options.Value.PublicKeyExportPath))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Value.PublicKeyExportPath))!);
            File.WriteAllText(options.Value.PublicKeyExportPath, _key.ExportSubjectPublicKeyInfoPem());
        }
    }

    public string KeyId { get; }

    /// <summary>Where the public key is, for devices.</summary>
    public string PublicKeyPath { get; }

    public EraseCommand Sign(EraseCommand unsigned)
    {
        var command = unsigned with { KeyId = KeyId, Signature = "" };
        return command with { Signature = ProtocolSigning.Sign(_key, command.SignedBytes()) };
    }

    public void Dispose() => _key.Dispose();
}
