using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.DeviceProtocol;
using Decommission.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// The gateway's ECDSA P-256 command-signing key: a PKCS#8 PEM file readable by its owner only, or a PKCS#12 file (.pfx,
/// .p12) opened with a password from configuration. Every replica must sign with the same key (a device trusts one), so it
/// is created on first start only where there can be no other replica (SQLite, one machine); with a shared database it
/// must be given. The public half is written beside it for devices to verify commands and verdicts with. A next key may be held beside
/// it (<see cref="DeviceGatewayOptions.NextSigningKeyPath"/>): it signs nothing until promoted, but its public half is
/// written out too, so devices can be provisioned with both before the switch (docs/device-protocol.md, "Key rotation").
/// </summary>
public sealed class CommandSigningKey : IDisposable
{
    private readonly ECDsa _key;
    private readonly ECDsa? _next;

    /// <param name="createWhenAbsent">Whether a missing key file may be created: only where no other replica can sign (SQLite).</param>
    public CommandSigningKey(IOptions<DeviceGatewayOptions> options, ILogger<CommandSigningKey> logger, bool createWhenAbsent = true)
    {
        var o = options.Value;
        (_key, PublicKeyPath) = LoadOrCreate(o.SigningKeyPath, o.SigningKeyPassword, nameof(o.SigningKeyPath), "command-signing key", createWhenAbsent, logger);
        KeyId = ProtocolSigning.KeyId(_key);
        if (!string.IsNullOrEmpty(o.NextSigningKeyPath))
        {
            (_next, NextPublicKeyPath) = LoadOrCreate(o.NextSigningKeyPath, o.NextSigningKeyPassword, nameof(o.NextSigningKeyPath), "next command-signing key",
                createWhenAbsent, logger);
            NextKeyId = ProtocolSigning.KeyId(_next);
            if (NextKeyId == KeyId)
                throw new InvalidOperationException("The next command-signing key is the current one; give NextSigningKeyPath a key of its own.");
            logger.LogInformation("Signing with command-signing key {KeyId}; holding the next key {NextKeyId} ({NextPublicKeyPath}) for rotation",
                KeyId, NextKeyId, NextPublicKeyPath);
        }
        if (!string.IsNullOrEmpty(options.Value.PublicKeyExportPath))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Value.PublicKeyExportPath))!);
            WriteIfChanged(options.Value.PublicKeyExportPath, _key.ExportSubjectPublicKeyInfoPem());
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

    /// <summary>
    /// Reads the key at <paramref name="configuredPath"/>: a password-protected PKCS#12 file, or an owner-only PEM that is
    /// created when absent if <paramref name="createWhenAbsent"/>. Writes its public half beside it as <c>.pub.pem</c>.
    /// </summary>
    private static (ECDsa Key, string PublicKeyPath) LoadOrCreate(string configuredPath, string? password, string setting, string what,
        bool createWhenAbsent, ILogger logger)
    {
        var path = Path.GetFullPath(configuredPath);
        ECDsa key;
        if (IsPkcs12(path))
            key = LoadPkcs12(path, password, setting, what);
        else if (File.Exists(path))
        {
            if (!OwnerOnlyFile.IsOwnerOnly(path))
                throw new InvalidOperationException($"The {what} {path} is readable by others; make it owner-only (chmod 600).");
            key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(path));
        }
        else if (createWhenAbsent)
        {
            key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            OwnerOnlyFile.Write(path, key.ExportPkcs8PrivateKeyPem());
            logger.LogInformation("Created {What} {KeyId} at {Path}", what, ProtocolSigning.KeyId(key), path);
        }
        else
            throw new InvalidOperationException(
                $"The {what} {path} (DeviceGateway:{setting}) does not exist. With Storage:Postgres the gateway may run as several replicas, " +
                "and every one must sign with the same key devices trust: none makes one of its own. Create it once (openssl genpkey -algorithm EC " +
                "-pkeyopt ec_paramgen_curve:P-256 -out FILE; chmod 600 FILE), or give a PKCS#12 file with its password, and give every replica that file.");
        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new InvalidOperationException($"The {what} {path} is not an ECDSA P-256 key.");
        }
        var publicKeyPath = PublicKeyPathOf(path);
        WriteIfChanged(publicKeyPath, key.ExportSubjectPublicKeyInfoPem());
        return (key, publicKeyPath);
    }

    // Replicas share one key: its public half, already there, is left alone (a replica starting never rewrites what others read).
    private static void WriteIfChanged(string path, string contents)
    {
        if (!File.Exists(path) || File.ReadAllText(path) != contents)
            File.WriteAllText(path, contents);
    }

    private static bool IsPkcs12(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".pfx" or ".p12";

    private static ECDsa LoadPkcs12(string path, string? password, string setting, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The {what} {path} (DeviceGateway:{setting}) does not exist; a PKCS#12 key is never created here.", path);
        try
        {
            using var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
            using var held = certificate.GetECDsaPrivateKey()
                ?? throw new InvalidOperationException($"The {what} {path} holds no ECDSA private key.");
            // A key of our own, independent of the certificate's lifetime.
            var key = ECDsa.Create();
            key.ImportParameters(held.ExportParameters(includePrivateParameters: true));
            return key;
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException($"The {what} {path} cannot be opened: wrong or missing password ({setting[..^4]}Password), or not a PKCS#12 file.", e);
        }
    }

    /// <summary>command-signing.key.pem → command-signing.pub.pem; command-signing.pfx → command-signing.pub.pem.</summary>
    private static string PublicKeyPathOf(string path) =>
        Path.ChangeExtension(path, null).Replace(".key", "", StringComparison.Ordinal) + ".pub.pem";
}
