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

    public EncryptedStorage(IEnumerable<string> plaintexts, IReadOnlyList<string> slots, bool secureElementRefusesWrites = false)
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
    }

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

    /// <summary>Zeroizes every slot KEK and every wrapped copy of the media key, then drops them.</summary>
    /// <exception cref="CryptographicException">The secure element refused the write; nothing was destroyed.</exception>
    public void DestroyKeys()
    {
        if (secureElementRefusesWrites)
            throw new CryptographicException("secure element refused the key-slot write");
        foreach (var kek in secureElement.Values)
            CryptographicOperations.ZeroMemory(kek);
        foreach (var wrapped in wrappedMediaKeys.Values)
        {
            CryptographicOperations.ZeroMemory(wrapped.Nonce);
            CryptographicOperations.ZeroMemory(wrapped.Ciphertext);
            CryptographicOperations.ZeroMemory(wrapped.Tag);
        }
        secureElement.Clear();
        wrappedMediaKeys.Clear();
    }

    private bool TryUnwrap(string slot, byte[] mediaKey) =>
        wrappedMediaKeys.TryGetValue(slot, out var wrapped)
        && secureElement.TryGetValue(slot, out var kek)
        && TryOpen(kek, wrapped, mediaKey);

    private sealed record Sealed(byte[] Nonce, byte[] Ciphertext, byte[] Tag);

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
