using System.Security.Cryptography;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Decommission.DeviceAgent;

/// <summary>
/// One simulated device: encrypted data under wrapped key slots, an attestation key, and the erase-command handling of
/// docs/device-protocol.md. Transport-free: <see cref="Handle"/> returns the receipt to send; <see cref="DeviceFleet"/> carries it.
/// </summary>
public sealed class SimulatedDevice : IDisposable
{
    private static readonly string[] KeySlots = ["user", "recovery"];
    private static readonly string[] AreasCovered = ["user-data", "configuration", "credential-store"];
    private static readonly string[] AreasNotCovered = ["boot-rom", "radio-firmware"];
    private const int RecordCount = 64;

    private readonly Lock gate = new();
    private readonly ECDsa attestationKey;
    private readonly ECDsa receiptSigningKey;
    private readonly ECDsa gatewayKey;
    private readonly string gatewayKeyId;
    private readonly EncryptedStorage storage;
    private readonly Dictionary<string, WipeReceipt> receiptsByCommand = [];
    private readonly WipeReceipt? oldReceipt;
    private readonly ILogger logger;
    private IReadOnlyList<string>? destroyedKeyIds;

    /// <param name="gatewayPublicKey">SubjectPublicKeyInfo of the gateway's command-signing key, as provisioned at manufacture.</param>
    /// <param name="identityKey">Its attestation key, when made before the device (enrollment certifies it first); it owns it from then on.</param>
    public SimulatedDevice(DeviceSpec spec, byte[] gatewayPublicKey, DateTimeOffset createdAt, ILogger? logger = null, ECDsa? identityKey = null)
    {
        Spec = spec;
        attestationKey = identityKey ?? ECDsa.Create(ECCurve.NamedCurves.nistP256);
        this.logger = logger ?? NullLogger.Instance;
        gatewayKey = ProtocolSigning.ImportPublicKey(gatewayPublicKey);
        gatewayKeyId = ProtocolSigning.KeyId(gatewayPublicKey);
        AttestationPublicKey = attestationKey.ExportSubjectPublicKeyInfo();
        AttestationKeyId = ProtocolSigning.KeyId(AttestationPublicKey);
        receiptSigningKey = Behaviour == DeviceBehaviour.SignsWithWrongKey ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : attestationKey;
        storage = new EncryptedStorage(SampleRecords(), KeySlots, secureElementRefusesWrites: Behaviour == DeviceBehaviour.EraseFails);
        if (Behaviour == DeviceBehaviour.ReplaysOldReceipt)
            oldReceipt = ReceiptFromYesterday(createdAt);
    }

    public DeviceSpec Spec { get; }
    public string Id => Spec.Id;
    public DeviceBehaviour Behaviour => Spec.Behaviour;
    /// <summary>SubjectPublicKeyInfo (DER) of the key the gateway must register for this device.</summary>
    public byte[] AttestationPublicKey { get; }
    public string AttestationKeyId { get; }
    public bool IsErased { get; private set; }
    public WipeReceipt? LastReceipt { get; private set; }
    public int CommandsReceived { get; private set; }

    /// <summary>Reads the data as an application would: through any key slot that still unwraps the media key.</summary>
    public bool TryReadData(out IReadOnlyList<string> records)
    {
        lock (gate)
        {
            foreach (var slot in KeySlots)
            {
                if (storage.TryRead(slot, out var read))
                {
                    records = read;
                    return true;
                }
            }
            records = [];
            return false;
        }
    }

    /// <summary>Acts on an erase command; returns the receipt to send, or null when the command must be ignored.</summary>
    public WipeReceipt? Handle(EraseCommand command, DateTimeOffset now) => Handle(new SignedMessage<EraseCommand>(command, command.SignedBytes()), now);

    /// <summary>Acts on an erase command as received (its signature checked over the canonical bytes of the received JSON).</summary>
    public WipeReceipt? Handle(SignedMessage<EraseCommand> received, DateTimeOffset now)
    {
        var command = received.Message;
        lock (gate)
        {
            CommandsReceived++;
            if (Rejection(received, now) is { } reason)
            {
                logger.LogWarning("Device {DeviceId} ignored command {CommandId}: {Reason}", Id, command.CommandId, reason);
                return null;
            }
            // A re-sent command (same id) gets the receipt already given, byte for byte.
            if (!receiptsByCommand.TryGetValue(command.CommandId, out var receipt))
            {
                receipt = oldReceipt ?? Erase(command, now);
                receiptsByCommand[command.CommandId] = receipt;
                if (receipt == oldReceipt)
                    logger.LogWarning("Device {DeviceId} answers command {CommandId} with its old receipt for command {OldCommandId}",
                        Id, command.CommandId, receipt.CommandId);
                else
                    logger.LogInformation("Device {DeviceId} answers command {CommandId}: {Outcome}, {Detail}",
                        Id, command.CommandId, receipt.Outcome, receipt.SelfCheckDetail);
            }
            return LastReceipt = receipt;
        }
    }

    /// <summary>How far the device's clock is off: what it stamps on its receipt is now plus this.</summary>
    private TimeSpan ClockError => Behaviour switch
    {
        DeviceBehaviour.ClockAhead => TimeSpan.FromDays(1),
        DeviceBehaviour.ClockBehind => TimeSpan.FromHours(-1),
        _ => TimeSpan.Zero,
    };

    public void Dispose()
    {
        attestationKey.Dispose();
        receiptSigningKey.Dispose();
        gatewayKey.Dispose();
    }

    private string? Rejection(SignedMessage<EraseCommand> received, DateTimeOffset now)
    {
        var command = received.Message;
        if (command.Version != SignedMessage.Version)
            return $"protocol version {command.Version}, not {SignedMessage.Version}";
        if (command.MessageType != EraseCommand.Type)
            return $"type is {command.MessageType}";
        if (command.DeviceId != Id)
            return $"addressed to device {command.DeviceId}";
        if (command.KeyId != gatewayKeyId)
            return $"signed with unknown key {command.KeyId}";
        if (!ProtocolSigning.Verify(gatewayKey, received.SignedBytes, command.Signature))
            return "signature does not verify with the gateway key";
        if (!ProtocolSigning.TryParseTimestamp(command.ExpiresAt, out var expiresAt))
            return $"unreadable expiresAt {command.ExpiresAt}";
        if (now >= expiresAt)
            return $"expired at {command.ExpiresAt}";
        if (command.Method != ErasureMethods.CryptographicErase)
            return $"unsupported method {command.Method}";
        return null;
    }

    private WipeReceipt Erase(EraseCommand command, DateTimeOffset now)
    {
        string? refusal = null;
        if (destroyedKeyIds is null)
        {
            var mediaKeyId = $"media-key:{storage.MediaKeyFingerprint()}";
            try
            {
                storage.DestroyKeys();
                destroyedKeyIds = [mediaKeyId, .. KeySlots.Select(slot => $"slot:{slot}")];
            }
            catch (CryptographicException e)
            {
                refusal = e.Message;
            }
        }

        // The self-check: the erase counts only if no slot can decrypt the data any more.
        var readableSlots = KeySlots.Count(slot => storage.TryRead(slot, out _));
        IsErased = readableSlots == 0;
        return Signed(new WipeReceipt
        {
            ReceiptId = Guid.NewGuid().ToString("N"),
            CommandId = command.CommandId,
            DeviceId = Id,
            Nonce = command.Nonce,
            Outcome = IsErased ? ErasureMethods.Succeeded : ErasureMethods.Failed,
            Method = ErasureMethods.CryptographicErase,
            DestroyedKeyIds = IsErased ? destroyedKeyIds ?? [] : [],
            AreasCovered = IsErased ? AreasCovered : [],
            AreasNotCovered = IsErased ? AreasNotCovered : [.. AreasCovered, .. AreasNotCovered],
            SelfCheckPassed = IsErased,
            SelfCheckDetail = IsErased
                ? $"{storage.RecordCount} records, {KeySlots.Length} key slots: decryption failed for all"
                : $"{refusal ?? "key destruction incomplete"}: {storage.RecordCount} records still decrypt through {readableSlots} of {KeySlots.Length} key slots",
            CompletedAt = ProtocolSigning.Timestamp(now + ClockError),
            KeyId = ProtocolSigning.KeyId(receiptSigningKey),
        }, receiptSigningKey);
    }

    /// <summary>A genuine receipt for an erase that never happened to this data: another command, another nonce, a day old.</summary>
    private WipeReceipt ReceiptFromYesterday(DateTimeOffset createdAt) => Signed(new WipeReceipt
    {
        ReceiptId = Guid.NewGuid().ToString("N"),
        CommandId = Guid.NewGuid().ToString(),
        DeviceId = Id,
        Nonce = ProtocolSigning.NewNonce(),
        Outcome = ErasureMethods.Succeeded,
        Method = ErasureMethods.CryptographicErase,
        DestroyedKeyIds = [$"media-key:{storage.MediaKeyFingerprint()}", .. KeySlots.Select(slot => $"slot:{slot}")],
        AreasCovered = AreasCovered,
        AreasNotCovered = AreasNotCovered,
        SelfCheckPassed = true,
        SelfCheckDetail = $"{RecordCount} records, {KeySlots.Length} key slots: decryption failed for all",
        CompletedAt = ProtocolSigning.Timestamp(createdAt.AddDays(-1)),
        KeyId = AttestationKeyId,
    }, attestationKey);

    private static WipeReceipt Signed(WipeReceipt receipt, ECDsa key) =>
        receipt with { Signature = ProtocolSigning.Sign(key, receipt.SignedBytes()) };

    private IEnumerable<string> SampleRecords()
    {
        yield return $"wifi-config ssid=plant-floor-3 security=wpa3 psk={Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24))}";
        yield return $"user-token sub=operator@{Id} bearer={Convert.ToBase64String(RandomNumberGenerator.GetBytes(48))}";
        for (var i = 2; i < RecordCount; i++)
            yield return $"reading {i:D3} device={Id} temperature={18 + RandomNumberGenerator.GetInt32(100) / 10.0:F1}C "
                + $"humidity={30 + RandomNumberGenerator.GetInt32(40)}% battery={RandomNumberGenerator.GetInt32(101)}% "
                + $"fw=2.4.1 seq={RandomNumberGenerator.GetInt32(int.MaxValue):D10}";
    }
}
