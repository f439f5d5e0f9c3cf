using System.Security.Cryptography;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Decommission.DeviceAgent;

/// <summary>
/// One simulated device: encrypted data under wrapped key slots, an attestation key, and the erase-command handling of
/// docs/device-protocol.md. Transport-free: <see cref="Receive"/> takes a message's bytes and returns the bytes to send back,
/// which a transport (<see cref="DeviceFleet"/>, the in-process fleet) carries. Given a <see cref="DeviceStateDirectory"/>, it
/// keeps its keys, data, erase journal and answers there, as hardware keeps them across a reboot; without one, in memory only.
/// </summary>
public sealed partial class SimulatedDevice : IDisposable
{
    private static readonly string[] KeySlots = ["user", "recovery"];
    private static readonly string[] AreasCovered = ["user-data", "configuration", "credential-store"];
    private static readonly string[] AreasNotCovered = ["boot-rom", "radio-firmware"];
    private const int RecordCount = 64;

    private readonly Lock gate = new();
    private ECDsa? attestationKey;
    private ECDsa? receiptSigningKey;
    private readonly Dictionary<string, ECDsa> gatewayKeys;
    private readonly EncryptedStorage storage;
    private readonly DeviceStateDirectory? disk;
    private readonly WipeReceipt? oldReceipt;
    private readonly ILogger logger;
    private IReadOnlyList<string>? destroyedKeyIds;
    private EraseJournal? journal;
    // A receipt stored before a restart, on which no verdict came: sent again once the device is back on the channel.
    private byte[]? answerToResend;

    /// <param name="gatewayPublicKey">SubjectPublicKeyInfo of the gateway's command-signing key, as provisioned at manufacture.</param>
    /// <param name="identityKey">Its attestation key, when made before the device (enrollment certifies it first); it owns it from then on.</param>
    public SimulatedDevice(DeviceSpec spec, byte[] gatewayPublicKey, DateTimeOffset createdAt, ILogger? logger = null, ECDsa? identityKey = null)
        : this(spec, new[] { gatewayPublicKey }, createdAt, logger, identityKey)
    {
    }

    /// <param name="trustedGatewayKeys">SubjectPublicKeyInfo of every command-signing key the device was provisioned with (the
    /// current one and, during a rotation, the next): it accepts commands and verdicts signed by any of them, and by no other.</param>
    /// <param name="identityKey">Its attestation key, when made before the device (enrollment certifies it first); it owns it from then on.
    /// Null: the one in <paramref name="disk"/> (made there on a first start), or a new one in memory.</param>
    /// <param name="disk">Where it keeps its state; what is there already (keys, data, journal, answers) is what it comes back with,
    /// and an erase a restart interrupted is finished here, before it answers anything. Null: in memory only.</param>
    public SimulatedDevice(DeviceSpec spec, IReadOnlyList<byte[]> trustedGatewayKeys, DateTimeOffset createdAt, ILogger? logger = null, ECDsa? identityKey = null,
        DeviceStateDirectory? disk = null)
    {
        Spec = spec;
        this.disk = disk;
        this.logger = logger ?? NullLogger.Instance;
        gatewayKeys = trustedGatewayKeys.DistinctBy(ProtocolSigning.KeyId).ToDictionary(ProtocolSigning.KeyId, ProtocolSigning.ImportPublicKey);
        if (identityKey is null && disk is not null)
        {
            (attestationKey, AttestationPublicKey) = disk.LoadOrCreateAttestationKey();
        }
        else
        {
            attestationKey = identityKey ?? ECDsa.Create(ECCurve.NamedCurves.nistP256);
            AttestationPublicKey = attestationKey.ExportSubjectPublicKeyInfo();
        }
        AttestationKeyDestroyed = attestationKey is null;
        AttestationKeyId = ProtocolSigning.KeyId(AttestationPublicKey);
        receiptSigningKey = Behaviour == DeviceBehaviour.SignsWithWrongKey ? ECDsa.Create(ECCurve.NamedCurves.nistP256) : attestationKey;
        var secureElementRefusesWrites = Behaviour == DeviceBehaviour.EraseFails;
        storage = (disk is null ? null : EncryptedStorage.Load(disk, KeySlots, secureElementRefusesWrites))
                  ?? new EncryptedStorage(SampleRecords(), KeySlots, secureElementRefusesWrites, disk);
        if (Behaviour == DeviceBehaviour.ReplaysOldReceipt && attestationKey is not null)
            oldReceipt = ReceiptFromYesterday(createdAt);
        if (disk is not null)
            Restore(disk, createdAt);
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
    /// <summary>The key ids of the command-signing keys this device trusts.</summary>
    public IReadOnlyCollection<string> TrustedGatewayKeyIds => gatewayKeys.Keys;

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

    /// <summary>How far the device's clock is off: what it stamps on its receipt is now plus this.</summary>
    private TimeSpan ClockError => Behaviour switch
    {
        DeviceBehaviour.ClockAhead => TimeSpan.FromDays(1),
        DeviceBehaviour.ClockBehind => TimeSpan.FromHours(-1),
        _ => TimeSpan.Zero,
    };

    public void Dispose()
    {
        attestationKey?.Dispose();
        receiptSigningKey?.Dispose();
        foreach (var key in gatewayKeys.Values)
            key.Dispose();
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
        if (!gatewayKeys.TryGetValue(command.KeyId, out var gatewayKey))
            return $"signed with key {command.KeyId}, which this device was not provisioned with";
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

    /// <summary>Journals the erase (docs/device-protocol.md, "Reboot mid-erase"), destroys every key, checks, signs and stores the receipt.</summary>
    private Answer Erase(EraseCommand command, DateTimeOffset now)
    {
        var entry = new EraseJournal
        {
            CommandId = command.CommandId,
            Nonce = command.Nonce,
            Step = EraseJournal.Started,
            KeyIds = destroyedKeyIds ?? [$"media-key:{storage.MediaKeyFingerprint()}", .. KeySlots.Select(slot => $"slot:{slot}")],
        };
        // Written before any key is destroyed: a device that reboots now finishes this erase at its next start.
        disk?.WriteJournal(entry);
        return FinishErase(entry, now);
    }

    /// <summary>Destroys whatever keys are left (those an interrupted erase destroyed stay destroyed), runs the self-check over every
    /// slot, signs the receipt once and stores it, and only then marks the journal entry signed.</summary>
    private Answer FinishErase(EraseJournal entry, DateTimeOffset now)
    {
        string? refusal = null;
        if (destroyedKeyIds is null)
        {
            try
            {
                storage.DestroyKeys();
                destroyedKeyIds = entry.KeyIds;
                disk?.WriteJournal(entry with { Step = EraseJournal.KeysDestroyed });
            }
            catch (CryptographicException e)
            {
                refusal = e.Message;
            }
        }

        // The self-check: the erase counts only if no slot can decrypt the data any more.
        var readableSlots = KeySlots.Count(slot => storage.TryRead(slot, out _));
        IsErased = readableSlots == 0;
        var receipt = Signed(new WipeReceipt
        {
            ReceiptId = Guid.NewGuid().ToString("N"),
            CommandId = entry.CommandId,
            DeviceId = Id,
            Nonce = entry.Nonce,
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
            KeyId = ProtocolSigning.KeyId(receiptSigningKey!),
        }, receiptSigningKey!);
        var answer = Answer.Of(receipt);
        Remember(entry.CommandId, answer);
        journal = entry with { Step = EraseJournal.ReceiptSigned };
        disk?.WriteJournal(journal);
        return answer;
    }

    /// <summary>Keeps the answer to a command, durably when the device has a disk, before it is sent.</summary>
    private void Remember(string commandId, Answer answer)
    {
        answersByCommand[commandId] = answer;
        disk?.WriteAnswers(answersByCommand.ToDictionary(a => a.Key, a => a.Value.Bytes));
    }

    /// <summary>
    /// Back from a restart: the answers it sent, the erase it journalled (finished now if a restart interrupted it, before anything
    /// is answered), and the receipt to send again if no verdict on it came.
    /// </summary>
    private void Restore(DeviceStateDirectory from, DateTimeOffset now)
    {
        foreach (var (commandId, bytes) in from.ReadAnswers())
            answersByCommand[commandId] = Answer.FromBytes(bytes);
        var entry = from.ReadJournal();
        if (entry is null)
            return;
        var keysLeft = KeySlots.Any(slot => storage.TryRead(slot, out _));
        if (!keysLeft)
            destroyedKeyIds = entry.KeyIds;
        if (entry.Step != EraseJournal.ReceiptSigned)
        {
            if (answersByCommand.ContainsKey(entry.CommandId))
            {
                // Stopped after storing its receipt, before the journal said so: the stored receipt stands.
                journal = entry with { Step = EraseJournal.ReceiptSigned };
                from.WriteJournal(journal);
            }
            else if (receiptSigningKey is null)
            {
                logger.LogError("Device {DeviceId} cannot finish the erase of command {CommandId}: its attestation key is gone", Id, entry.CommandId);
                journal = entry;
            }
            else
            {
                logger.LogWarning("Device {DeviceId} restarted during the erase of command {CommandId} (at step {Step}): finishing it",
                    Id, entry.CommandId, entry.Step);
                FinishErase(entry, now);
            }
        }
        else
        {
            journal = entry;
        }
        IsErased = KeySlots.All(slot => !storage.TryRead(slot, out _));
        journal ??= entry;
        if (answersByCommand.TryGetValue(journal.CommandId, out var answer) && answer.Receipt is not null)
        {
            LastReceipt = answer.Receipt;
            if (journal.Verdict is null && !AttestationKeyDestroyed)
                answerToResend = answer.Bytes;
        }
    }

    /// <summary>The receipt stored before a restart on which no verdict has come, once: the transport sends it again when it is back
    /// on the channel (docs/device-protocol.md, "Reboot mid-erase", 4).</summary>
    public byte[]? TakeAnswerToResend()
    {
        lock (gate)
        {
            var answer = answerToResend;
            answerToResend = null;
            return answer;
        }
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
    }, attestationKey!);

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
