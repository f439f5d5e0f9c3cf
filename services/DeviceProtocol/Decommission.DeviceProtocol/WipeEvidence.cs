using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Decommission.DeviceProtocol;

/// <summary>The names of the checks <see cref="WipeEvidence.Verify"/> makes; a failure names the first that failed.</summary>
public static class WipeEvidenceChecks
{
    /// <summary>The gateway signed the command for another retirement of the device: its wipe certifies that one, not this.</summary>
    public const string CommandForAnotherRetirement = "CommandForAnotherRetirement";
    public const string Malformed = nameof(Malformed);
    public const string ReceiptHashMismatch = nameof(ReceiptHashMismatch);
    public const string IdentityForAnotherDevice = nameof(IdentityForAnotherDevice);
    public const string IdentityNotFromFleetCa = nameof(IdentityNotFromFleetCa);
    public const string ReceiptKeyNotIdentity = nameof(ReceiptKeyNotIdentity);
    public const string ReceiptSignatureInvalid = nameof(ReceiptSignatureInvalid);
    public const string ReceiptForAnotherDevice = nameof(ReceiptForAnotherDevice);
    public const string CommandNotSignedByGateway = nameof(CommandNotSignedByGateway);
    public const string CommandForAnotherDevice = nameof(CommandForAnotherDevice);
    public const string CommandIdMismatch = nameof(CommandIdMismatch);
    public const string NonceMismatch = nameof(NonceMismatch);
    public const string OutsideCommandWindow = nameof(OutsideCommandWindow);
    public const string NotSucceeded = nameof(NotSucceeded);
    public const string WeakMethod = nameof(WeakMethod);
    public const string SelfCheckFailed = nameof(SelfCheckFailed);
}

/// <summary>Evidence that verified: the documents as parsed, and the keys that signed them.</summary>
public sealed record VerifiedWipe(WipeReceipt Receipt, EraseCommand Command, byte[] ReceiptBytes, byte[] CommandBytes, byte[] IdentityCertificate,
    string DeviceKeyId, string CommandKeyId, DateTimeOffset CompletedAt)
{
    /// <summary>The canonical bytes the receipt's signature covers (RFC 8785, computed from the receipt as received).</summary>
    public byte[] ReceiptSignedBytes { get; init; } = [];
    /// <summary>The canonical bytes the command's signature covers.</summary>
    public byte[] CommandSignedBytes { get; init; } = [];
}

/// <summary>Why evidence did not verify: the check (<see cref="WipeEvidenceChecks"/>) and what it found.</summary>
public sealed record WipeEvidenceProblem(string Check, string Detail);

/// <summary>
/// Checks a crypto-erase from the bytes alone: the identity certificate is the fleet CA's for this device, the receipt is
/// signed by that certificate's key and answers a command the gateway signed for this device (same id, nonce, in time),
/// and it reports a successful cryptographic erase the device's own check confirmed. Revocation is not checked: the
/// identity is revoked after its wipe.
/// </summary>
public static class WipeEvidence
{
    /// <summary>Slack around the command's lifetime for the device's clock, unless the caller says otherwise (the gateway's default too).</summary>
    public static readonly TimeSpan DefaultClockSkew = TimeSpan.FromMinutes(2);

    /// <param name="clockSkew">How far the receipt's time may lie outside the command's lifetime; <see cref="DefaultClockSkew"/> when null.
    /// A relying party sets it to the gateway's, so it does not refuse what the gateway accepted.</param>
    public static (VerifiedWipe? Wipe, WipeEvidenceProblem? Problem) Verify(byte[] receiptBytes, string receiptSha256, byte[] commandBytes,
        byte[] identityCertificate, string deviceId, Guid retirementId, X509Certificate2 fleetCa, byte[] commandSigningKey, TimeSpan? clockSkew = null)
    {
        var skew = clockSkew ?? DefaultClockSkew;
        static (VerifiedWipe?, WipeEvidenceProblem?) Fail(string check, string detail) => (null, new WipeEvidenceProblem(check, detail));

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(receiptBytes));
        if (!string.Equals(sha256, receiptSha256, StringComparison.OrdinalIgnoreCase))
            return Fail(WipeEvidenceChecks.ReceiptHashMismatch, $"the receipt's SHA-256 is {sha256}, not the {receiptSha256} stated");
        // Evidence certified under protocol v1 is read with v1's signed bytes, so its certificate still verifies.
        var (signedReceipt, receiptProblem) = SignedMessage.Parse<WipeReceipt>(receiptBytes, WipeReceipt.Type);
        signedReceipt ??= ProtocolV1Evidence.ParseReceipt(receiptBytes);
        if (signedReceipt is null)
            return Fail(WipeEvidenceChecks.Malformed, $"the receipt: {receiptProblem}");
        var (signedCommand, commandProblem) = SignedMessage.Parse<EraseCommand>(commandBytes, EraseCommand.Type);
        signedCommand ??= ProtocolV1Evidence.ParseCommand(commandBytes);
        if (signedCommand is null)
            return Fail(WipeEvidenceChecks.Malformed, $"the command: {commandProblem}");
        var (receipt, command) = (signedReceipt.Message, signedCommand.Message);
        if (!ProtocolSigning.TryParseTimestamp(receipt.CompletedAt, out var completedAt))
            return Fail(WipeEvidenceChecks.Malformed, "the receipt's completedAt is not an RFC 3339 UTC time");
        if (!ProtocolSigning.TryParseTimestamp(command.IssuedAt, out var issuedAt) || !ProtocolSigning.TryParseTimestamp(command.ExpiresAt, out var expiresAt))
            return Fail(WipeEvidenceChecks.Malformed, "the command's issuedAt or expiresAt is not an RFC 3339 UTC time");

        // The identity: the fleet CA's certificate for this very device, valid when the device signed.
        var commonName = CommonName(identityCertificate);
        if (commonName is null)
            return Fail(WipeEvidenceChecks.Malformed, "the identity certificate is not a DER X.509 certificate");
        if (commonName != deviceId)
            return Fail(WipeEvidenceChecks.IdentityForAnotherDevice, $"the identity certificate is issued to {commonName}, not to device {deviceId}");
        var (deviceKey, identityProblem) = DeviceIdentityCertificate.Check(identityCertificate, fleetCa, deviceId, completedAt);
        if (deviceKey is null)
            return Fail(WipeEvidenceChecks.IdentityNotFromFleetCa, $"the identity certificate: {identityProblem}");

        // The receipt: signed by the identity's key, about this device.
        var deviceKeyId = ProtocolSigning.KeyId(deviceKey);
        if (!string.Equals(receipt.KeyId, deviceKeyId, StringComparison.Ordinal))
            return Fail(WipeEvidenceChecks.ReceiptKeyNotIdentity, $"the receipt names key {receipt.KeyId}, not the identity certificate's key {deviceKeyId}");
        using (var key = ProtocolSigning.ImportPublicKey(deviceKey))
            if (!VerifySignature(key, signedReceipt.SignedBytes, receipt.Signature))
                return Fail(WipeEvidenceChecks.ReceiptSignatureInvalid, "the receipt's signature does not verify with the identity certificate's key");
        if (receipt.DeviceId != deviceId)
            return Fail(WipeEvidenceChecks.ReceiptForAnotherDevice, $"the receipt is from device {receipt.DeviceId}, not {deviceId}");

        // The command: the gateway's, for this device, and the one the receipt answers.
        var commandKeyId = ProtocolSigning.KeyId(commandSigningKey);
        using (var key = ProtocolSigning.ImportPublicKey(commandSigningKey))
            if (command.KeyId != commandKeyId || !VerifySignature(key, signedCommand.SignedBytes, command.Signature))
                return Fail(WipeEvidenceChecks.CommandNotSignedByGateway, $"the command does not verify with the gateway's command-signing key {commandKeyId}");
        if (command.DeviceId != deviceId)
            return Fail(WipeEvidenceChecks.CommandForAnotherDevice, $"the command is for device {command.DeviceId}, not {deviceId}");
        if (!Guid.TryParse(command.RetirementId, out var commandRetirement) || commandRetirement != retirementId)
            return Fail(WipeEvidenceChecks.CommandForAnotherRetirement, $"the command belongs to retirement {command.RetirementId}, not {retirementId}");
        if (receipt.CommandId != command.CommandId)
            return Fail(WipeEvidenceChecks.CommandIdMismatch, $"the receipt answers command {receipt.CommandId}, not {command.CommandId}");
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(receipt.Nonce), System.Text.Encoding.UTF8.GetBytes(command.Nonce)))
            return Fail(WipeEvidenceChecks.NonceMismatch, "the receipt does not echo the command's nonce");
        if (completedAt < issuedAt - skew || completedAt > expiresAt + skew)
            return Fail(WipeEvidenceChecks.OutsideCommandWindow,
                $"the erase completed at {receipt.CompletedAt}, outside the command's lifetime {command.IssuedAt} to {command.ExpiresAt} (± {skew})");

        // What the receipt reports: NIST SP 800-88 Rev.2, a Purge by cryptographic erase, verified.
        if (receipt.Outcome != ErasureMethods.Succeeded)
            return Fail(WipeEvidenceChecks.NotSucceeded, $"the device reported outcome {receipt.Outcome}");
        if (!ErasureMethods.IsPurge(receipt.Method))
            return Fail(WipeEvidenceChecks.WeakMethod, $"method {receipt.Method} is not a Purge ({ErasureMethods.CryptographicErase} required)");
        if (!receipt.SelfCheckPassed)
            return Fail(WipeEvidenceChecks.SelfCheckFailed, $"the device's own check after the erase failed: {receipt.SelfCheckDetail}");

        return (new VerifiedWipe(receipt, command, receiptBytes, commandBytes, identityCertificate, deviceKeyId, commandKeyId, completedAt)
        {
            ReceiptSignedBytes = signedReceipt.SignedBytes,
            CommandSignedBytes = signedCommand.SignedBytes,
        }, null);
    }

    private static bool VerifySignature(ECDsa key, byte[] data, string signature)
    {
        try
        {
            return ProtocolSigning.Verify(key, data, signature);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static string? CommonName(byte[] der)
    {
        try
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            return certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
