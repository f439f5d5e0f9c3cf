using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Decommission.Contracts;
using Decommission.DeviceProtocol;

namespace Decommission.Testing;

/// <summary>
/// Real erase evidence, made at test time (no key is ever committed): a fleet CA, device attestation keys with identity
/// certificates it issued, the gateway's command-signing key, a signed erase command and the device's signed receipt.
/// Each step can be bent (another key, an edited field) to make the evidence a forger would bring.
/// </summary>
public sealed class EvidenceFactory : IDisposable
{
    private readonly ECDsa _fleetCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly Dictionary<string, (ECDsa Key, X509Certificate2 Identity)> _devices = [];
    private readonly Lock _lock = new();

    public EvidenceFactory(string fleetName = "Test Fleet CA")
    {
        var now = DateTimeOffset.UtcNow;
        var request = new CertificateRequest($"CN={fleetName}, O=Decommission Tests", _fleetCaKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        FleetCa = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(5));
    }

    public X509Certificate2 FleetCa { get; }

    /// <summary>The gateway's command-signing key.</summary>
    public ECDsa GatewayKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>Writes the two trust files the certificates service reads: fleet-ca.pem and command-signing.pub.pem.</summary>
    public (string FleetCaPath, string CommandSigningPublicKeyPath) WriteTrustFiles(string directory)
    {
        Directory.CreateDirectory(directory);
        var fleetCa = Path.Combine(directory, "fleet-ca.pem");
        var commandKey = Path.Combine(directory, "command-signing.pub.pem");
        File.WriteAllText(fleetCa, FleetCa.ExportCertificatePem());
        File.WriteAllText(commandKey, GatewayKey.ExportSubjectPublicKeyInfoPem());
        return (fleetCa, commandKey);
    }

    /// <summary>The device's attestation key (made on first use).</summary>
    public ECDsa DeviceKey(string deviceId) => Device(deviceId).Key;

    /// <summary>The fleet CA's identity certificate over the device's attestation key, CN = device id.</summary>
    public X509Certificate2 Identity(string deviceId) => Device(deviceId).Identity;

    /// <summary>
    /// The evidence of one crypto-erase of <paramref name="deviceId"/>, as the gateway hands it on. The edits apply before
    /// signing; the keys and identity replace the right ones.
    /// </summary>
    public ErasureEvidence Evidence(string deviceId, Func<EraseCommand, EraseCommand>? command = null, Func<WipeReceipt, WipeReceipt>? receipt = null,
        ECDsa? commandKey = null, ECDsa? receiptKey = null, X509Certificate2? identity = null, DateTimeOffset? at = null, Guid? retirementId = null)
    {
        var now = at ?? DateTimeOffset.UtcNow;
        commandKey ??= GatewayKey;
        receiptKey ??= DeviceKey(deviceId);
        identity ??= Identity(deviceId);

        var unsignedCommand = (command ?? (c => c))(new EraseCommand
        {
            CommandId = Guid.NewGuid().ToString(),
            DeviceId = deviceId,
            RetirementId = (retirementId ?? Guid.NewGuid()).ToString(),
            Nonce = ProtocolSigning.NewNonce(),
            IssuedAt = ProtocolSigning.Timestamp(now.AddMinutes(-1)),
            ExpiresAt = ProtocolSigning.Timestamp(now.AddMinutes(10)),
            KeyId = ProtocolSigning.KeyId(commandKey),
        });
        var signedCommand = unsignedCommand with { Signature = ProtocolSigning.Sign(commandKey, unsignedCommand.SignedBytes()) };
        var commandBytes = JsonSerializer.SerializeToUtf8Bytes(signedCommand);

        var unsignedReceipt = (receipt ?? (r => r))(new WipeReceipt
        {
            ReceiptId = Guid.NewGuid().ToString(),
            CommandId = signedCommand.CommandId,
            DeviceId = deviceId,
            Nonce = signedCommand.Nonce,
            Outcome = ErasureMethods.Succeeded,
            Method = ErasureMethods.CryptographicErase,
            DestroyedKeyIds = ["media-key:3fa2c1d9", "slot:user"],
            AreasCovered = ["user-data"],
            AreasNotCovered = ["boot-rom"],
            SelfCheckPassed = true,
            SelfCheckDetail = "decryption of 16 sampled blocks failed",
            CompletedAt = ProtocolSigning.Timestamp(now),
            KeyId = ProtocolSigning.KeyId(receiptKey),
        });
        var signedReceipt = unsignedReceipt with { Signature = ProtocolSigning.Sign(receiptKey, unsignedReceipt.SignedBytes()) };
        var receiptBytes = JsonSerializer.SerializeToUtf8Bytes(signedReceipt);

        ProtocolSigning.TryParseTimestamp(signedReceipt.CompletedAt, out var completedAt);
        return new ErasureEvidence
        {
            Method = signedReceipt.Method,
            DestroyedKeyIds = signedReceipt.DestroyedKeyIds,
            AreasCovered = signedReceipt.AreasCovered,
            AreasNotCovered = signedReceipt.AreasNotCovered,
            SelfCheckPassed = signedReceipt.SelfCheckPassed,
            CompletedAt = completedAt,
            ReceiptSha256 = Convert.ToHexStringLower(SHA256.HashData(receiptBytes)),
            Receipt = Convert.ToBase64String(receiptBytes),
            Command = Convert.ToBase64String(commandBytes),
            IdentityCertificate = Convert.ToBase64String(identity.RawData),
        };
    }

    /// <summary>The evidence with one piece of text in the receipt replaced after signing, its SHA-256 recomputed (a careful forger).</summary>
    public static ErasureEvidence TamperReceipt(ErasureEvidence evidence, string from, string to)
    {
        var text = Encoding.UTF8.GetString(Convert.FromBase64String(evidence.Receipt));
        if (!text.Contains(from, StringComparison.Ordinal))
            throw new ArgumentException($"the receipt has no {from}", nameof(from));
        var bytes = Encoding.UTF8.GetBytes(text.Replace(from, to, StringComparison.Ordinal));
        return evidence with { Receipt = Convert.ToBase64String(bytes), ReceiptSha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)) };
    }

    /// <summary>The evidence with one piece of text in the signed command replaced after signing.</summary>
    public static ErasureEvidence TamperCommand(ErasureEvidence evidence, string from, string to)
    {
        var text = Encoding.UTF8.GetString(Convert.FromBase64String(evidence.Command));
        if (!text.Contains(from, StringComparison.Ordinal))
            throw new ArgumentException($"the command has no {from}", nameof(from));
        return evidence with { Command = Convert.ToBase64String(Encoding.UTF8.GetBytes(text.Replace(from, to, StringComparison.Ordinal))) };
    }

    /// <summary>An order for a Purge certificate as the saga sends it, with real evidence.</summary>
    public IssueDisposalCertificate PurgeOrder(string deviceId, ErasureEvidence? evidence = null)
    {
        evidence ??= Evidence(deviceId);
        return PurgeOrder(deviceId, evidence, RetirementOf(evidence));
    }

    /// <summary>The retirement the evidence's command was signed for (a new one if it names none).</summary>
    public static Guid RetirementOf(ErasureEvidence evidence)
    {
        try
        {
            var command = JsonSerializer.Deserialize<EraseCommand>(Convert.FromBase64String(evidence.Command));
            return Guid.TryParse(command?.RetirementId, out var id) ? id : Guid.NewGuid();
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return Guid.NewGuid();
        }
    }

    public IssueDisposalCertificate PurgeOrder(string deviceId, ErasureEvidence evidence, Guid retirementId) => new()
    {
        RetirementId = retirementId,
        DeviceId = deviceId,
        Device = new DeviceSnapshot
        {
            Manufacturer = "Acme Sensors", Model = "TH-200", SerialNumber = $"SN-{deviceId}", AssetNumber = "ASSET-0042",
            MediaType = "eMMC 8 GB", Owner = "Plant operations", Site = "Lyon plant",
        },
        SanitizationType = "Purge",
        Evidence = evidence,
        RevokedCredentials = [new RevokedCredential { Kind = "ApiKey", CredentialId = "ApiKey:x", RevokedAt = DateTimeOffset.UtcNow }],
        IdentityCertificateSerial = Identity(deviceId).SerialNumber,
        Reason = "end of life",
        RequestedBy = "alice",
        RequestedAt = DateTimeOffset.UtcNow.AddMinutes(-5),
        AuditTrail = [new AuditEntry { At = DateTimeOffset.UtcNow, FromState = "Initial", ToState = "Requested", Event = "RetireDevice", Actor = "alice" }],
    };

    public void Dispose()
    {
        foreach (var (key, identity) in _devices.Values)
        {
            key.Dispose();
            identity.Dispose();
        }
        FleetCa.Dispose();
        GatewayKey.Dispose();
        _fleetCaKey.Dispose();
    }

    private (ECDsa Key, X509Certificate2 Identity) Device(string deviceId)
    {
        lock (_lock)
        {
            if (_devices.TryGetValue(deviceId, out var device))
                return device;
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var now = DateTimeOffset.UtcNow;
            var request = new CertificateRequest($"CN={deviceId}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(FleetCa, true, false));
            var serial = RandomNumberGenerator.GetBytes(12);
            serial[0] = (byte)((serial[0] & 0x3F) | 0x40); // positive, minimal
            var identity = request.Create(FleetCa.SubjectName, X509SignatureGenerator.CreateForECDsa(_fleetCaKey), now.AddDays(-1), now.AddYears(1), serial);
            device = (key, identity);
            _devices[deviceId] = device;
            return device;
        }
    }
}
