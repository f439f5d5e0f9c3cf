using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Decommission.Certificates.Tests.Pdf;

/// <summary>Self-signed signing certificates made at test time (keys are never committed), in both key types the service may use.</summary>
internal static class TestSigningCertificates
{
    public static X509Certificate2 Create(string keyType) => keyType switch
    {
        "RSA-3072" => Rsa3072(),
        "ECDSA-P256" => EcdsaP256(),
        _ => throw new ArgumentOutOfRangeException(nameof(keyType), keyType, "RSA-3072 or ECDSA-P256"),
    };

    public static X509Certificate2 Rsa3072(string name = "Test Certificate Signing")
    {
        using var key = RSA.Create(3072);
        return SelfSigned(new CertificateRequest($"CN={name}, O=Decommission Tests", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    public static X509Certificate2 EcdsaP256(string name = "Test Certificate Signing (ECDSA)")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return SelfSigned(new CertificateRequest($"CN={name}, O=Decommission Tests", key, HashAlgorithmName.SHA256));
    }

    /// <summary>An ECDSA P-256 authority and a signing certificate it issued, as the service makes them.</summary>
    public static (X509Certificate2 Authority, X509Certificate2 Signing) IssuedByAuthority(string keyType)
    {
        var now = DateTimeOffset.UtcNow;
        using var authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var authorityRequest = new CertificateRequest("CN=Test Disposal Authority, O=Decommission Tests", authorityKey, HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var authority = authorityRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(2));

        using var signing = Create(keyType);
        var request = keyType == "RSA-3072"
            ? new CertificateRequest("CN=Test Issued Signer, O=Decommission Tests", signing.GetRSAPrivateKey()!, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest("CN=Test Issued Signer, O=Decommission Tests", signing.GetECDsaPrivateKey()!, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
        using var issued = request.Create(authority.SubjectName, X509SignatureGenerator.CreateForECDsa(authorityKey),
            now.AddMinutes(-5), now.AddYears(1), RandomNumberGenerator.GetBytes(8));
        return (authority, keyType == "RSA-3072"
            ? issued.CopyWithPrivateKey(signing.GetRSAPrivateKey()!)
            : issued.CopyWithPrivateKey(signing.GetECDsaPrivateKey()!));
    }

    private static X509Certificate2 SelfSigned(CertificateRequest request)
    {
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
    }
}
