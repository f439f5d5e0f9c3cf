using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.DeviceProtocol;

namespace Decommission.DeviceAgent;

/// <summary>
/// A simulated device before it is provisioned: its spec and its attestation key, there at start so that the fleet's
/// enrollment CSV can be written; enrollment then certifies the key (the bundle's identity certificate). With a
/// <see cref="DeviceStateDirectory"/>, the key is the one the device made at its first start and kept on its disk.
/// </summary>
internal sealed class DeviceIdentityKey : IDisposable
{
    private ECDsa? _key;

    public DeviceIdentityKey(DeviceSpec spec, DeviceStateDirectory? disk = null)
    {
        Spec = spec;
        Disk = disk;
        if (disk is null)
        {
            _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            PublicKey = _key.ExportSubjectPublicKeyInfo();
        }
        else
        {
            (_key, PublicKey) = disk.LoadOrCreateAttestationKey();
            IsDestroyed = _key is null;
        }
    }

    public DeviceSpec Spec { get; }

    /// <summary>Where the device keeps its state; null: in memory only.</summary>
    public DeviceStateDirectory? Disk { get; }

    /// <summary>The device's erase was accepted before this start and its attestation key destroyed: only the public half is left.</summary>
    public bool IsDestroyed { get; }

    public string Id => Spec.Id;

    /// <summary>SubjectPublicKeyInfo (DER): what enrollment registers and certifies.</summary>
    public byte[] PublicKey { get; }

    /// <summary>Why <paramref name="bundle"/> cannot be this device's; null when it is (its certificate is over this key).</summary>
    public string? Mismatch(ProvisioningBundle bundle)
    {
        if (bundle.DeviceId != Id || bundle.Mqtt.ClientId != Id)
            return $"the bundle is for device {bundle.DeviceId} (client id {bundle.Mqtt.ClientId})";
        if (bundle.Mqtt.Servers.Count == 0 || bundle.Mqtt.Servers.Any(server => !int.TryParse(server[(server.LastIndexOf(':') + 1)..], out _)))
            return "the bundle names no broker, or one without its port (host:port)";
        // Throws (the bundle is refused) when it is no certificate.
        using (X509Certificate2.CreateFromPem(bundle.BrokerCaCertificate))
        {
        }
        if (bundle.CommandSigningKeys.FirstOrDefault(k => k.Status == "current") is not { } current)
            return "the bundle has no current command-signing key";
        if (ProtocolSigning.KeyId(Convert.FromBase64String(current.PublicKey)) != current.KeyId)
            return $"its command-signing key is not the key {current.KeyId} it says";
        using var certificate = X509Certificate2.CreateFromPem(bundle.IdentityCertificate);
        return certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(PublicKey)
            ? null
            : "its identity certificate is over another attestation key (a bundle from an earlier run of the agent?)";
    }

    /// <summary>The TLS client certificate: the identity certificate with this key (a copy of it: the device owns the original).</summary>
    public X509Certificate2 ClientCertificate(ProvisioningBundle bundle)
    {
        using var certificate = X509Certificate2.CreateFromPem(bundle.IdentityCertificate);
        using var copy = ECDsa.Create();
        var privateKey = _key!.ExportECPrivateKey();
        try
        {
            copy.ImportECPrivateKey(privateKey, out _);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(privateKey);
        }
        // The certificate keeps its own reference to the key: disposing the copy leaves it usable.
        return certificate.CopyWithPrivateKey(copy);
    }

    /// <summary>Hands the key to the device it becomes; this no longer owns it. Null when it was destroyed before this start.</summary>
    public ECDsa? TakeKey()
    {
        if (IsDestroyed)
            return null;
        var key = _key ?? throw new InvalidOperationException($"device {Id} already has its key");
        _key = null;
        return key;
    }

    public void Dispose() => _key?.Dispose();
}
