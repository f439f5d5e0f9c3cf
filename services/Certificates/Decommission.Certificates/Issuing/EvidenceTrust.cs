using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Decommission.Contracts;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Issuing;

/// <summary>
/// What the certificates service trusts evidence against: the fleet CA certificate and the gateway's command-signing
/// public key. Both files are read on first use, since the credentials service and the gateway create them at their first start.
/// The receipt's time may lie outside the command's lifetime by Certificates:MaxClockSkew, as at the gateway.
/// </summary>
public sealed class EvidenceTrust(IOptions<CertificatesOptions> options) : IDisposable
{
    private readonly Lock _lock = new();
    private X509Certificate2? _fleetCa;
    private byte[]? _commandSigningKey;

    public X509Certificate2 FleetCa
    {
        get
        {
            lock (_lock)
                return _fleetCa ??= X509CertificateLoader.LoadCertificate(
                    PemFile(options.Value.FleetCaCertificatePath, nameof(CertificatesOptions.FleetCaCertificatePath), "the fleet CA certificate", "CERTIFICATE"));
        }
    }

    /// <summary>The gateway's command-signing key, SubjectPublicKeyInfo DER.</summary>
    public byte[] CommandSigningKey
    {
        get
        {
            lock (_lock)
                return _commandSigningKey ??= PemFile(options.Value.CommandSigningPublicKeyPath, nameof(CertificatesOptions.CommandSigningPublicKeyPath),
                    "the device gateway's command-signing public key", "PUBLIC KEY");
        }
    }

    /// <summary>Checks the evidence of a Purge from its bytes alone (<see cref="WipeEvidence.Verify"/>).</summary>
    public (VerifiedWipe? Wipe, WipeEvidenceProblem? Problem) Verify(ErasureEvidence? evidence, string deviceId, Guid retirementId)
    {
        if (evidence is null)
            return (null, new WipeEvidenceProblem(WipeEvidenceChecks.Malformed, "the order carries no erase evidence"));
        byte[] receipt, command, identity;
        try
        {
            receipt = Convert.FromBase64String(evidence.Receipt);
            command = Convert.FromBase64String(evidence.Command);
            identity = Convert.FromBase64String(evidence.IdentityCertificate);
        }
        catch (FormatException)
        {
            return (null, new WipeEvidenceProblem(WipeEvidenceChecks.Malformed, "the receipt, command or identity certificate is not base64"));
        }
        if (receipt.Length == 0 || command.Length == 0 || identity.Length == 0)
            return (null, new WipeEvidenceProblem(WipeEvidenceChecks.Malformed, "the receipt, command or identity certificate is missing"));
        return WipeEvidence.Verify(receipt, evidence.ReceiptSha256, command, identity, deviceId, retirementId, FleetCa, CommandSigningKey,
            options.Value.MaxClockSkew);
    }

    public void Dispose() => _fleetCa?.Dispose();

    private static byte[] PemFile(string configured, string option, string what, string label)
    {
        var path = Path.GetFullPath(configured);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{what} {path} (Certificates:{option}) does not exist: no Purge certificate can be issued or checked until it does.", path);
        var text = File.ReadAllText(path);
        if (!PemEncoding.TryFind(text, out var pem) || text[pem.Label] != label)
            throw new InvalidDataException($"{what} {path} (Certificates:{option}) holds no PEM \"{label}\".");
        return Convert.FromBase64String(text[pem.Base64Data]);
    }
}
