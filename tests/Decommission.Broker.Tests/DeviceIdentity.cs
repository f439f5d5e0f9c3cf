using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Decommission.Broker.Tests;

/// <summary>
/// A device's identity certificate and key as files for mosquitto: ECDSA P-256, CN = device id, issued at test time by a
/// CA (the test fleet CA, or one the broker does not trust). The key file is owner-only and goes with the directory.
/// </summary>
public sealed class DeviceIdentity : IDisposable
{
    private readonly string _directory;

    private DeviceIdentity(string deviceId, string directory)
    {
        DeviceId = deviceId;
        _directory = directory;
    }

    public string DeviceId { get; }

    public string CertificatePath => Path.Combine(_directory, "device.crt");

    public string KeyPath => Path.Combine(_directory, "device.key");

    /// <summary>A fresh device id that is a valid broker user name and routing-key word.</summary>
    public static string NewDeviceId() => $"dev-{Guid.NewGuid():N}";

    /// <summary>Issued by the CA in <paramref name="caCertificatePath"/> with the key in <paramref name="caKeyPath"/>.</summary>
    public static DeviceIdentity Issue(string deviceId, string caCertificatePath, string caKeyPath)
    {
        using var ca = X509Certificate2.CreateFromPemFile(caCertificatePath, caKeyPath);
        return Issue(deviceId, ca);
    }

    public static DeviceIdentity Issue(string deviceId, X509Certificate2 ca)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var identity = new DeviceIdentity(deviceId, Directory.CreateTempSubdirectory("decom-device-").FullName);
        File.WriteAllText(identity.CertificatePath, Decommission.Testing.DeviceChannelNode.IssueIdentityCertificate(ca, deviceId, key));
        // The key is owner-only before any byte is written.
        identity.WriteKey(key);
        return identity;
    }

    /// <summary>A device's own files: the identity certificate enrollment issued (PEM) and its attestation key.</summary>
    public static DeviceIdentity FromEnrollment(string deviceId, string certificatePem, ECDsa key)
    {
        var identity = new DeviceIdentity(deviceId, Directory.CreateTempSubdirectory("decom-device-").FullName);
        File.WriteAllText(identity.CertificatePath, certificatePem);
        identity.WriteKey(key);
        return identity;
    }

    private void WriteKey(ECDsa key)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var writer = new StreamWriter(new FileStream(KeyPath, options));
        writer.Write(key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>A CA the broker has never heard of, with the same name as <paramref name="impersonated"/>'s.</summary>
    public static X509Certificate2 UntrustedCa(string impersonated)
    {
        using var genuine = X509CertificateLoader.LoadCertificateFromFile(impersonated);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(genuine.SubjectName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
