using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// The fleet CA: issues each device's identity certificate and signs the CRL. Loaded from a configured password-protected
/// PFX (required on PostgreSQL, where replicas share it), or on SQLite created on first start in DataDirectory/ca
/// (private key owner-only, certificate public).
/// </summary>
public sealed class FleetCertificateAuthority : IDisposable
{
    private readonly X509Certificate2 _ca;
    private readonly CredentialsOptions _options;

    public FleetCertificateAuthority(IOptions<CredentialsOptions> options, IOptions<StorageOptions> storage, ILogger<FleetCertificateAuthority> logger)
    {
        _options = options.Value;
        // Replicas share one database: each making a CA of its own would issue identities and CRLs the others' relying parties
        // do not trust (and re-issue the CRL under its own CA at every start). They must all be given the same PFX.
        if (!string.IsNullOrWhiteSpace(storage.Value.Postgres) && string.IsNullOrEmpty(_options.CaPfxPath))
            throw new InvalidOperationException(
                $"{CredentialsOptions.Section}:{nameof(CredentialsOptions.CaPfxPath)} is required with {StorageOptions.Section}:{nameof(StorageOptions.Postgres)}: "
                + "every replica must load the same fleet CA from a password-protected PFX; none is created here.");
        if (!string.IsNullOrEmpty(_options.CaPfxPath))
        {
            _ca = X509CertificateLoader.LoadPkcs12FromFile(_options.CaPfxPath, _options.CaPfxPassword, X509KeyStorageFlags.EphemeralKeySet);
            if (!_ca.HasPrivateKey)
                throw new InvalidOperationException($"The fleet CA PFX {_options.CaPfxPath} holds no private key.");
        }
        else
        {
            var directory = Path.Combine(_options.DataDirectory, "ca");
            var keyPath = Path.Combine(directory, "fleet-ca.key.pem");
            CertificatePath = Path.Combine(directory, "fleet-ca.pem");
            if (!File.Exists(keyPath))
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                using var created = CreateCa(key);
                OwnerOnlyFile.Write(keyPath, key.ExportPkcs8PrivateKeyPem());
                File.WriteAllText(CertificatePath, created.ExportCertificatePem());
                logger.LogInformation("Created the fleet CA {Subject} in {Directory}", created.Subject, directory);
            }
            if (!OwnerOnlyFile.IsOwnerOnly(keyPath))
                throw new InvalidOperationException($"The fleet CA key {keyPath} is readable by others; make it owner-only (chmod 600).");
            _ca = X509Certificate2.CreateFromPemFile(CertificatePath, keyPath);
        }
        Export();
    }

    private void Export()
    {
        if (string.IsNullOrEmpty(_options.CaCertificateExportPath))
            return;
        var path = Path.GetFullPath(_options.CaCertificateExportPath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, _ca.ExportCertificatePem());
    }

    /// <summary>The CA certificate (PEM) when the CA lives in the data directory; auditors verify the CRL against it.</summary>
    public string? CertificatePath { get; }

    public X509Certificate2 Certificate => _ca;

    /// <summary>An identity certificate for the device, over its attestation public key.</summary>
    public X509Certificate2 IssueIdentity(string deviceId, byte[] attestationPublicKey, DateTimeOffset now)
    {
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(attestationPublicKey, out _);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={Escape(deviceId)}, OU=Devices, O=Decommission fleet"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01); // a positive INTEGER with no leading zero, so every tool prints it alike
        // An identity cannot outlive the CA that vouches for it.
        var notAfter = new[] { now + _options.IdentityValidity, new DateTimeOffset(_ca.NotAfter.ToUniversalTime()) }.Min();
        // Nor predate it (a CA made minutes ago).
        var notBefore = new[] { now.AddMinutes(-5), new DateTimeOffset(_ca.NotBefore.ToUniversalTime()) }.Max();
        return request.Create(_ca, notBefore, notAfter, serial);
    }

    /// <summary>A CRL (X.509 v2) listing every revocation, signed by the CA.</summary>
    public byte[] BuildCrl(IEnumerable<(string Serial, DateTimeOffset RevokedAt)> revoked, long number, DateTimeOffset now)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var (serial, revokedAt) in revoked)
            builder.AddEntry(Convert.FromHexString(serial), revokedAt, X509RevocationReason.CessationOfOperation);
        return builder.Build(_ca, number, now + _options.CrlValidity, HashAlgorithmName.SHA256, thisUpdate: now);
    }

    private static X509Certificate2 CreateCa(ECDsa key)
    {
        var request = new CertificateRequest("CN=Decommission Fleet CA, O=Decommission", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(20));
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace(",", "\\,").Replace("+", "\\+").Replace("=", "\\=").Replace("\"", "\\\"");

    /// <summary>Whether this CA's key signed the CRL: one issued under an earlier CA (the broker's PKI made anew, the same data
    /// directory) would not chain to the CA the broker trusts, and the broker would refuse every device.</summary>
    public bool Signed(byte[] crlDer)
    {
        try
        {
            // CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
            var certificateList = new System.Formats.Asn1.AsnReader(crlDer, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
            var signed = certificateList.ReadEncodedValue();
            certificateList.ReadSequence();
            var signature = certificateList.ReadBitString(out _);
            using var key = _ca.GetECDsaPublicKey();
            return key is not null && key.VerifyData(signed.Span, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (System.Formats.Asn1.AsnContentException)
        {
            return false;
        }
    }

    public void Dispose() => _ca.Dispose();
}
