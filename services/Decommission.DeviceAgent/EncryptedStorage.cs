using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Decommission.DeviceAgent;

/// <summary>
/// A device's flash: records sealed with AES-256-GCM under a media key that is stored only wrapped in key slots, each
/// slot's key-encryption key (KEK) held in the secure element. Destroying every copy of the media key is a
/// Cryptographic Erase (NIST SP 800-88 Rev.1 §2.6).
/// </summary>
internal sealed class EncryptedStorage
{
    private const int KeySize = 32, TagSize = 16;

    private readonly List<Sealed> records;
    private readonly Dictionary<string, Sealed> wrappedMediaKeys = [];
    private readonly Dictionary<string, byte[]> secureElement = [];
    private readonly bool secureElementRefusesWrites;
    private readonly DeviceStateDirectory? disk;

    /// <param name="disk">Where the device keeps its flash and secure element; null: in memory only (gone with the process).</param>
    public EncryptedStorage(IEnumerable<string> plaintexts, IReadOnlyList<string> slots, bool secureElementRefusesWrites = false,
        DeviceStateDirectory? disk = null)
    {
        var mediaKey = RandomNumberGenerator.GetBytes(KeySize);
        try
        {
            records = [.. plaintexts.Select(record => Seal(mediaKey, Encoding.UTF8.GetBytes(record)))];
            foreach (var slot in slots)
            {
                secureElement[slot] = RandomNumberGenerator.GetBytes(KeySize);
                wrappedMediaKeys[slot] = Seal(secureElement[slot], mediaKey);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(mediaKey);
        }
        Slots = slots;
        this.secureElementRefusesWrites = secureElementRefusesWrites;
        this.disk = disk;
        if (disk is null)
            return;
        // The keys first, the records last: the records file is what says the storage exists.
        foreach (var slot in slots)
        {
            disk.Write(DeviceStateDirectory.KeyEncryptionKeyFile(slot), secureElement[slot]);
            disk.Write(DeviceStateDirectory.WrappedMediaKeyFile(slot), wrappedMediaKeys[slot].ToBytes());
        }
        disk.WriteJson(DeviceStateDirectory.RecordsFile, records.Select(record => record.ToBytes()).ToList());
    }

    private EncryptedStorage(List<Sealed> records, IReadOnlyList<string> slots, bool secureElementRefusesWrites, DeviceStateDirectory disk)
    {
        this.records = records;
        Slots = slots;
        this.secureElementRefusesWrites = secureElementRefusesWrites;
        this.disk = disk;
        foreach (var slot in slots)
        {
            // A slot whose files are gone was destroyed by an erase: it stays destroyed.
            if (disk.Read(DeviceStateDirectory.KeyEncryptionKeyFile(slot)) is { Length: KeySize } kek)
                secureElement[slot] = kek;
            if (disk.Read(DeviceStateDirectory.WrappedMediaKeyFile(slot)) is { } wrapped)
                wrappedMediaKeys[slot] = Sealed.FromBytes(wrapped);
        }
    }

    /// <summary>The storage the device wrote to <paramref name="disk"/> before, with whatever keys an erase left; null on a first start.</summary>
    public static EncryptedStorage? Load(DeviceStateDirectory disk, IReadOnlyList<string> slots, bool secureElementRefusesWrites = false) =>
        disk.ReadJson<List<byte[]>>(DeviceStateDirectory.RecordsFile) is { } records
            ? new EncryptedStorage([.. records.Select(Sealed.FromBytes)], slots, secureElementRefusesWrites, disk)
            : null;

    public IReadOnlyList<string> Slots { get; }
    public int RecordCount => records.Count;

    /// <summary>Unwraps the media key through <paramref name="slot"/> and decrypts every record; the unwrapped key is zeroized after use.</summary>
    public bool TryRead(string slot, [NotNullWhen(true)] out IReadOnlyList<string>? plaintexts)
    {
        plaintexts = null;
        var mediaKey = new byte[KeySize];
        try
        {
            if (!TryUnwrap(slot, mediaKey))
                return false;
            var read = new List<string>(records.Count);
            foreach (var record in records)
            {
                var plaintext = new byte[record.Ciphertext.Length];
                if (!TryOpen(mediaKey, record, plaintext))
                    return false;
                read.Add(Encoding.UTF8.GetString(plaintext));
            }
            plaintexts = read;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(mediaKey);
        }
    }

    /// <summary>The first 8 hex digits of SHA-256 of the media key, to name it in a receipt; null when no slot unwraps it.</summary>
    public string? MediaKeyFingerprint()
    {
        var mediaKey = new byte[KeySize];
        try
        {
            return Slots.Any(slot => TryUnwrap(slot, mediaKey)) ? Convert.ToHexStringLower(SHA256.HashData(mediaKey))[..8] : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(mediaKey);
        }
    }

    /// <summary>Zeroizes every slot KEK and every wrapped copy of the media key, then drops them; on disk, each of their files is
    /// overwritten and deleted. What an earlier, interrupted erase destroyed stays destroyed.</summary>
    /// <exception cref="CryptographicException">The secure element refused the write; nothing was destroyed.</exception>
    public void DestroyKeys()
    {
        if (secureElementRefusesWrites)
            throw new CryptographicException("secure element refused the key-slot write");
        foreach (var slot in Slots)
        {
            if (secureElement.Remove(slot, out var kek))
                CryptographicOperations.ZeroMemory(kek);
            if (wrappedMediaKeys.Remove(slot, out var wrapped))
            {
                CryptographicOperations.ZeroMemory(wrapped.Nonce);
                CryptographicOperations.ZeroMemory(wrapped.Ciphertext);
                CryptographicOperations.ZeroMemory(wrapped.Tag);
            }
            disk?.Shred(DeviceStateDirectory.WrappedMediaKeyFile(slot));
            disk?.Shred(DeviceStateDirectory.KeyEncryptionKeyFile(slot));
        }
    }

    private bool TryUnwrap(string slot, byte[] mediaKey) =>
        wrappedMediaKeys.TryGetValue(slot, out var wrapped)
        && secureElement.TryGetValue(slot, out var kek)
        && TryOpen(kek, wrapped, mediaKey);

    private sealed record Sealed(byte[] Nonce, byte[] Ciphertext, byte[] Tag)
    {
        private const int NonceSize = 12;

        /// <summary>nonce ‖ ciphertext ‖ tag, as stored.</summary>
        public byte[] ToBytes() => [.. Nonce, .. Ciphertext, .. Tag];

        public static Sealed FromBytes(byte[] bytes) => bytes.Length < NonceSize + TagSize
            ? throw new CryptographicException("a sealed record on disk is shorter than its nonce and tag")
            : new(bytes[..NonceSize], bytes[NonceSize..^TagSize], bytes[^TagSize..]);
    }

    private static Sealed Seal(byte[] key, byte[] plaintext)
    {
        var sealedBox = new Sealed(RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize), new byte[plaintext.Length], new byte[TagSize]);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(sealedBox.Nonce, plaintext, sealedBox.Ciphertext, sealedBox.Tag);
        return sealedBox;
    }

    private static bool TryOpen(byte[] key, Sealed sealedBox, Span<byte> plaintext)
    {
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(sealedBox.Nonce, sealedBox.Ciphertext, sealedBox.Tag, plaintext);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }
}
