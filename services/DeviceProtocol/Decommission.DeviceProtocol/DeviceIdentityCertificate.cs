using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Decommission.DeviceProtocol;

/// <summary>
/// A device's identity certificate: issued by the fleet CA over the device's attestation public key, with the device id as
/// its common name. Whoever checks a receipt checks this first: the key that signed it is the device's.
/// </summary>
public static class DeviceIdentityCertificate
{
    /// <summary>
    /// Checks that <paramref name="der"/> is a certificate for <paramref name="deviceId"/> signed by <paramref name="fleetCa"/>
    /// over an ECDSA P-256 key, valid at <paramref name="at"/>; returns its SubjectPublicKeyInfo or the reason it is not.
    /// Revocation is not checked: an identity is revoked after its wipe, and the receipt predates that.
    /// </summary>
    public static (byte[]? PublicKey, string? Problem) Check(byte[] der, X509Certificate2 fleetCa, string deviceId, DateTimeOffset at)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            return (null, $"not a DER X.509 certificate: {e.Message}");
        }
        using (certificate)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(fleetCa);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = at.UtcDateTime;
            chain.ChainPolicy.VerificationTimeIgnored = false;
            if (!chain.Build(certificate) || chain.ChainElements.Count != 2
                || !chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(fleetCa.RawDataMemory.Span))
            {
                var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0));
                return (null, $"not issued by the fleet CA {fleetCa.Subject}{(status.Length > 0 ? $": {status}" : "")}");
            }
            var commonName = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
            if (commonName != deviceId)
                return (null, $"issued to {commonName}, not to device {deviceId}");
            using var key = certificate.GetECDsaPublicKey();
            if (key is null)
                return (null, "its key is not an ECDSA key");
            var spki = key.ExportSubjectPublicKeyInfo();
            try
            {
                using var _ = ProtocolSigning.ImportPublicKey(spki);
            }
            catch (CryptographicException e)
            {
                return (null, e.Message);
            }
            return (spki, null);
        }
    }
}
