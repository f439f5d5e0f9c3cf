using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Decommission.DeviceAgent;

/// <summary>
/// A simulated device's durable storage (its flash and its secure element), as files in its own owner-only directory
/// <c>&lt;DataDirectory&gt;/&lt;deviceId&gt;/</c>: what real hardware keeps across a reboot.
/// <list type="bullet">
/// <item><c>attestation.key.pem</c>: the attestation private key (PKCS#8), until an accepted verdict destroys it;
/// <c>attestation.pub.pem</c>: its public half, kept for the enrollment CSV.</item>
/// <item><c>records.json</c>: the data, each record AES-256-GCM sealed under the media key.</item>
/// <item><c>media-key.&lt;slot&gt;.wrapped</c>: the media key wrapped by the slot's key-encryption key; <c>kek.&lt;slot&gt;.key</c>: that KEK
/// (the secure element's). The media key itself is never written unwrapped.</item>
/// <item><c>erase-journal.json</c>: the erase in progress (docs/device-protocol.md, "Reboot mid-erase"); <c>answers.json</c>: every
/// answer sent, by command id, as the bytes sent.</item>
/// </list>
/// Every file is 0600 in a 0700 directory, written whole then renamed into place; a key file is destroyed by overwriting it
/// with random bytes, flushing that to the disk, then deleting it.
/// </summary>
public sealed class DeviceStateDirectory
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const string AttestationKeyFile = "attestation.key.pem";
    public const string AttestationPublicKeyFile = "attestation.pub.pem";
    public const string RecordsFile = "records.json";
    public const string JournalFile = "erase-journal.json";
    public const string AnswersFile = "answers.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private DeviceStateDirectory(string path) => Path = path;

    public string Path { get; }

    public static string WrappedMediaKeyFile(string slot) => $"media-key.{slot}.wrapped";

    public static string KeyEncryptionKeyFile(string slot) => $"kek.{slot}.key";

    /// <summary>The device's directory under <paramref name="dataDirectory"/> (made owner-only when it is made), itself made
    /// owner-only if it is not.</summary>
    public static DeviceStateDirectory Open(string dataDirectory, string deviceId)
    {
        var root = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(dataDirectory));
        // An existing data directory keeps its mode (it may be shared, say a volume's root); each device's own is owner-only.
        if (!Directory.Exists(root))
            CreateOwnerOnly(root);
        // Device ids are checked at configuration (letters, digits, '_' and '-'): never a path of their own.
        var path = System.IO.Path.Combine(root, deviceId);
        if (deviceId is "" or "." or ".." || System.IO.Path.GetDirectoryName(path) != root)
            throw new ArgumentException($"device id '{deviceId}' is not a plain name", nameof(deviceId));
        CreateOwnerOnly(path);
        return new DeviceStateDirectory(path);
    }

    /// <summary>Makes <paramref name="directory"/> (and its missing parents) mode 0700, or sets it to 0700 if it exists.</summary>
    public static void CreateOwnerOnly(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }
        Directory.CreateDirectory(directory, OwnerOnlyDirectory);
        if (File.GetUnixFileMode(directory) != OwnerOnlyDirectory)
            File.SetUnixFileMode(directory, OwnerOnlyDirectory);
    }

    /// <summary>
    /// The device's attestation key: the one on disk, or, on the device's first start, a new one, written before anyone sees its
    /// public half. Null key (public half still given) once an accepted verdict has destroyed it.
    /// </summary>
    public (ECDsa? Key, byte[] PublicKey) LoadOrCreateAttestationKey()
    {
        var keyFile = PathOf(AttestationKeyFile);
        if (System.IO.File.Exists(keyFile))
        {
            var key = ECDsa.Create();
            var pem = System.IO.File.ReadAllBytes(keyFile);
            try
            {
                key.ImportFromPem(System.Text.Encoding.ASCII.GetString(pem));
            }
            catch
            {
                key.Dispose();
                throw;
            }
            finally
            {
                CryptographicOperations.ZeroMemory(pem);
            }
            // Stopped between the two files at its first start: the public half is what says the key existed once.
            if (!System.IO.File.Exists(PathOf(AttestationPublicKeyFile)))
                Write(AttestationPublicKeyFile, System.Text.Encoding.ASCII.GetBytes(key.ExportSubjectPublicKeyInfoPem()));
            return (key, key.ExportSubjectPublicKeyInfo());
        }
        if (System.IO.File.Exists(PathOf(AttestationPublicKeyFile)))
        {
            // The public half alone: the key was destroyed after the device's erase was accepted.
            using var publicKey = ECDsa.Create();
            publicKey.ImportFromPem(System.IO.File.ReadAllText(PathOf(AttestationPublicKeyFile)));
            return (null, publicKey.ExportSubjectPublicKeyInfo());
        }
        var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var privatePem = System.Text.Encoding.ASCII.GetBytes(created.ExportPkcs8PrivateKeyPem());
        try
        {
            Write(AttestationKeyFile, privatePem);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privatePem);
        }
        Write(AttestationPublicKeyFile, System.Text.Encoding.ASCII.GetBytes(created.ExportSubjectPublicKeyInfoPem()));
        return (created, created.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Overwrites the attestation private key on disk and deletes it; the public half stays.</summary>
    public void DestroyAttestationKey() => Shred(AttestationKeyFile);

    public bool Exists(string name) => System.IO.File.Exists(PathOf(name));

    public byte[]? Read(string name) => System.IO.File.Exists(PathOf(name)) ? System.IO.File.ReadAllBytes(PathOf(name)) : null;

    /// <summary>Writes <paramref name="name"/> whole, owner-only, flushed to the disk, then renamed over the old one: a crash leaves
    /// the old file or the new one, never half of either.</summary>
    public void Write(string name, ReadOnlySpan<byte> bytes)
    {
        var temporary = PathOf(name) + ".tmp";
        // A temporary left by a crash may hold a key: it is destroyed, not just replaced.
        ShredFile(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = OwnerOnlyFile;
        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        System.IO.File.Move(temporary, PathOf(name), overwrite: true);
    }

    /// <summary>Destroys <paramref name="name"/> (and a temporary copy a crash may have left): overwritten with random bytes,
    /// flushed to the disk, then deleted. On flash with wear levelling an overwrite may miss old blocks: that is why the data
    /// is encrypted and this destroys keys, never the data itself (NIST SP 800-88 Rev.1 §2.6).</summary>
    public void Shred(string name)
    {
        ShredFile(PathOf(name) + ".tmp");
        ShredFile(PathOf(name));
    }

    private static void ShredFile(string path)
    {
        if (!System.IO.File.Exists(path))
            return;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None))
        {
            var noise = new byte[Math.Max(stream.Length, 1)];
            RandomNumberGenerator.Fill(noise);
            stream.Write(noise);
            stream.Flush(flushToDisk: true);
        }
        System.IO.File.Delete(path);
    }

    public EraseJournal? ReadJournal() => Read(JournalFile) is { } bytes ? JsonSerializer.Deserialize<EraseJournal>(bytes, Json) : null;

    public void WriteJournal(EraseJournal journal) => Write(JournalFile, JsonSerializer.SerializeToUtf8Bytes(journal, Json));

    /// <summary>Every answer sent, by command id, as the bytes sent.</summary>
    public Dictionary<string, byte[]> ReadAnswers() =>
        Read(AnswersFile) is { } bytes ? JsonSerializer.Deserialize<Dictionary<string, byte[]>>(bytes, Json) ?? [] : [];

    public void WriteAnswers(IReadOnlyDictionary<string, byte[]> answers) => Write(AnswersFile, JsonSerializer.SerializeToUtf8Bytes(answers, Json));

    public T? ReadJson<T>(string name) => Read(name) is { } bytes ? JsonSerializer.Deserialize<T>(bytes, Json) : default;

    public void WriteJson<T>(string name, T value) => Write(name, JsonSerializer.SerializeToUtf8Bytes(value, Json));

    private string PathOf(string name) => System.IO.Path.Combine(Path, name);
}

/// <summary>
/// The erase in progress, written before any key is destroyed and after each step (docs/device-protocol.md, "Reboot mid-erase"):
/// a device that reboots with an unfinished entry finishes that erase before it answers anything.
/// </summary>
public sealed record EraseJournal
{
    public const string Started = "started", KeysDestroyed = "keys-destroyed", ReceiptSigned = "receipt-signed";

    public required string CommandId { get; init; }
    public required string Nonce { get; init; }
    public required string Step { get; init; }
    /// <summary>The ids of the keys this erase destroys, named before the first is gone (the media key's fingerprint cannot be taken after).</summary>
    public required IReadOnlyList<string> KeyIds { get; init; }
    /// <summary>The gateway's verdict on the stored receipt (accepted or rejected) once one came; until then the receipt is sent again after a reboot.</summary>
    public string? Verdict { get; init; }
}
