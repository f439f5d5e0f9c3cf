using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Issuing;

/// <summary>
/// The certificate the service signs disposal certificates with, and the disposal-authority CA that vouches for it:
/// a configured password-protected PFX, or both created on first start in DataDirectory/signing (keys owner-only). On
/// PostgreSQL (replicas share the database, and each must sign as the same authority) only the configured PFX: a replica
/// never makes an authority of its own.
/// </summary>
public sealed class SigningIdentity : IDisposable
{
    private readonly X509Certificate2Collection _anchors = [];

    public SigningIdentity(IOptions<CertificatesOptions> options, CertificatesDatabase database, ILogger<SigningIdentity> logger)
    {
        var settings = options.Value;
        if (database.Dialect == SqlDialect.Postgres && (string.IsNullOrEmpty(settings.SigningPfxPath) || string.IsNullOrEmpty(settings.SigningPfxPassword)))
            throw new InvalidOperationException(
                "Storage:Postgres is set, so replicas may share this service's database and must sign as one disposal authority: configure "
                + "Certificates:SigningPfxPath and Certificates:SigningPfxPassword (a password-protected PFX every replica is given; create one with "
                + "'create-signing-pfx --out FILE'). A replica does not make a signing key of its own.");
        if (!string.IsNullOrEmpty(settings.SigningPfxPath))
        {
            var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(settings.SigningPfxPath, settings.SigningPfxPassword, X509KeyStorageFlags.EphemeralKeySet);
            Certificate = all.FirstOrDefault(c => c.HasPrivateKey)
                ?? throw new InvalidOperationException($"The signing PFX {settings.SigningPfxPath} holds no certificate with a private key.");
            _anchors.AddRange(all.Where(c => c != Certificate).ToArray());
            if (_anchors.Count == 0)
                _anchors.Add(Certificate);
            return;
        }

        var directory = Path.Combine(settings.DataDirectory, "signing");
        var caPath = Path.Combine(directory, "disposal-authority-ca.pem");
        var caKeyPath = Path.Combine(directory, "disposal-authority-ca.key.pem");
        var certificatePath = Path.Combine(directory, "certificate-signing.pem");
        var keyPath = Path.Combine(directory, "certificate-signing.key.pem");
        if (!File.Exists(keyPath))
        {
            // ECDSA P-256: pdfsig and readers accept it, and it signs several times faster than RSA-3072.
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var ca = CreateAuthority(caKey, settings.Organisation);
            using var signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var signing = CreateSigningCertificate(ca, signingKey, settings.Organisation);
            OwnerOnlyFile.Write(caKeyPath, caKey.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(caPath, ca.ExportCertificatePem());
            OwnerOnlyFile.Write(keyPath, signingKey.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(certificatePath, signing.ExportCertificatePem());
            logger.LogInformation("Created the disposal-authority CA and the certificate-signing certificate in {Directory}", directory);
        }
        foreach (var path in new[] { caKeyPath, keyPath })
            if (!OwnerOnlyFile.IsOwnerOnly(path))
                throw new InvalidOperationException($"The private key {path} is readable by others; make it owner-only (chmod 600).");

        Certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        _anchors.Add(X509CertificateLoader.LoadCertificateFromFile(caPath));
        AuthorityCertificatePath = caPath;
    }

    /// <summary>Signs disposal certificates (has its private key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The disposal-authority CA certificate (PEM) auditors can trust, when it was created here.</summary>
    public string? AuthorityCertificatePath { get; }

    /// <summary>Whether a PDF signer's certificate is ours: it chains to our disposal authority.</summary>
    public bool IsOurs(X509Certificate2 signer)
    {
        if (signer.Thumbprint == Certificate.Thumbprint)
            return true;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        return chain.Build(signer);
    }

    /// <summary>
    /// Creates a disposal-authority CA and a signing certificate it issued, as a first start does, and writes them as a PFX
    /// protected by <paramref name="password"/> (the signing key and both certificates, AES-256) for every replica to be given;
    /// the CA's key goes to <paramref name="authorityKeyPath"/> (owner-only), to be kept offline for issuing the next signing certificate.
    /// </summary>
    public static void CreatePfx(string pfxPath, string authorityKeyPath, string password, string organisation)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CreateAuthority(caKey, organisation);
        using var signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signing = CreateSigningCertificate(ca, signingKey, organisation);
        using var caPublic = X509CertificateLoader.LoadCertificate(ca.RawData);
        var pfx = new X509Certificate2Collection { signing, caPublic }.ExportPkcs12(Pkcs12ExportPbeParameters.Pbes2Aes256Sha256, password);
        OwnerOnlyFile.Write(authorityKeyPath, caKey.ExportPkcs8PrivateKeyPem());
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(pfxPath, options);
        file.Write(pfx);
    }

    private static X509Certificate2 CreateAuthority(ECDsa key, string organisation)
    {
        var request = new CertificateRequest($"CN={organisation} Disposal Authority CA, O={organisation}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(20));
    }

    private static X509Certificate2 CreateSigningCertificate(X509Certificate2 ca, ECDsa key, string organisation)
    {
        var request = new CertificateRequest($"CN={organisation} Certificate Signing, O={organisation}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(ca, now.AddMinutes(-5), now.AddYears(10), serial);
        return issued.CopyWithPrivateKey(key);
    }

    public void Dispose() => Certificate.Dispose();
}
