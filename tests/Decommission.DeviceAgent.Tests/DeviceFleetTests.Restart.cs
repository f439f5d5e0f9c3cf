using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace Decommission.DeviceAgent.Tests;

/// <summary>
/// A restarted fleet is the same fleet: each device keeps its attestation key, its encrypted data and its media keys in the
/// agent's data directory (DeviceStateDirectory), and an erase or an accepted verdict destroys those files for good.
/// </summary>
public sealed partial class DeviceFleetTests
{
    private const string Meter = "meter-restart";
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnlyFile | UnixFileMode.UserExecute;
    private static readonly string[] Slots = ["user", "recovery"];

    private string DeviceDirectory => Path.Combine(Data, Meter);

    [Fact]
    public async Task Restarted_fleet_brings_back_each_device_with_its_attestation_key_and_its_data_in_owner_only_files()
    {
        using var ca = TestCa();
        byte[] publicKey;
        IReadOnlyList<string> before;
        await using (var fleet = await StartedFleet(ca))
        {
            publicKey = fleet.AttestationPublicKeys[Meter];
            Assert.True(fleet.Devices[Meter].TryReadData(out before));
        }

        // The records are on disk only as AES-GCM ciphertext: no plaintext, and the media key only wrapped.
        var onDisk = await File.ReadAllTextAsync(Path.Combine(DeviceDirectory, DeviceStateDirectory.RecordsFile));
        Assert.DoesNotContain("wifi-config", onDisk, StringComparison.Ordinal);
        Assert.Equal(before, DecryptWithFilesOnDisk());
        AssertOwnerOnly();

        await using (var restarted = await StartedFleet(ca))
        {
            // Its bundle's certificate is over the key of the first run: a device with a new key would be refused and stay offline.
            Assert.Equal(publicKey, restarted.AttestationPublicKeys[Meter]);
            var device = restarted.Devices[Meter];
            Assert.Equal(publicKey, device.AttestationPublicKey);
            Assert.True(device.TryReadData(out var after));
            Assert.Equal(before, after);
            var receipt = device.Handle(gateway.Command(Meter), GatewayKey.Now)!;
            Assert.True(VerifiesWith(publicKey, receipt), "the restarted device signs with the key enrollment certified");
        }
    }

    [Fact]
    public async Task After_an_erase_the_media_keys_are_gone_from_disk_and_the_restarted_device_cannot_decrypt_its_data()
    {
        using var ca = TestCa();
        var command = JsonSerializer.SerializeToUtf8Bytes(gateway.Command(Meter));
        byte[] receipt;
        await using (var fleet = await StartedFleet(ca))
        {
            Assert.NotNull(DecryptWithFilesOnDisk());
            receipt = fleet.Devices[Meter].Receive(command, GatewayKey.Now)!;
            Assert.True(fleet.Devices[Meter].IsErased);
        }

        foreach (var slot in Slots)
        {
            Assert.False(File.Exists(Path.Combine(DeviceDirectory, DeviceStateDirectory.WrappedMediaKeyFile(slot))), $"wrapped media key of slot {slot} left on disk");
            Assert.False(File.Exists(Path.Combine(DeviceDirectory, DeviceStateDirectory.KeyEncryptionKeyFile(slot))), $"key-encryption key of slot {slot} left on disk");
        }
        Assert.Empty(Directory.EnumerateFiles(DeviceDirectory, "*.tmp"));
        Assert.Null(DecryptWithFilesOnDisk());
        // The ciphertext stays: what is gone is every key that could open it.
        Assert.True(File.Exists(Path.Combine(DeviceDirectory, DeviceStateDirectory.RecordsFile)));

        await using var restarted = await StartedFleet(ca);
        var device = restarted.Devices[Meter];
        Assert.False(device.TryReadData(out _));
        Assert.True(device.IsErased);
        // The command again gets the receipt stored before the restart, byte for byte: never a second, different one.
        Assert.Equal(receipt, device.Receive(command, GatewayKey.Now.AddMinutes(1)));
        AssertOwnerOnly();
    }

    [Fact]
    public async Task After_an_accepted_verdict_the_attestation_key_file_is_gone_and_the_restarted_device_stays_retired()
    {
        using var ca = TestCa();
        var command = gateway.Command(Meter);
        byte[] publicKey, receipt;
        await using (var fleet = await StartedFleet(ca))
        {
            publicKey = fleet.AttestationPublicKeys[Meter];
            receipt = fleet.Devices[Meter].Receive(JsonSerializer.SerializeToUtf8Bytes(command), GatewayKey.Now)!;
            Assert.True(File.Exists(Path.Combine(DeviceDirectory, DeviceStateDirectory.AttestationKeyFile)), "the key stays until the verdict");
            fleet.Devices[Meter].Receive(gateway.Verdict(Meter, command.CommandId, receipt, EraseVerdict.Accepted), GatewayKey.Now);
            Assert.True(fleet.Devices[Meter].AttestationKeyDestroyed);
        }

        Assert.False(File.Exists(Path.Combine(DeviceDirectory, DeviceStateDirectory.AttestationKeyFile)));
        Assert.Empty(Directory.EnumerateFiles(DeviceDirectory, "*.tmp"));
        var remaining = string.Concat(Directory.EnumerateFiles(DeviceDirectory).Select(File.ReadAllText));
        Assert.DoesNotContain("PRIVATE KEY", remaining, StringComparison.Ordinal);

        await using var restarted = await StartedFleet(ca);
        Assert.Equal(publicKey, restarted.AttestationPublicKeys[Meter]);
        var device = restarted.Devices[Meter];
        Assert.True(device.AttestationKeyDestroyed);
        Assert.False(restarted.IsConnected(Meter));
        Assert.Equal(receipt, device.Receive(JsonSerializer.SerializeToUtf8Bytes(command), GatewayKey.Now.AddMinutes(1)));
        Assert.Null(device.Receive(JsonSerializer.SerializeToUtf8Bytes(gateway.Command(Meter)), GatewayKey.Now.AddMinutes(2)));
        Assert.Null(device.TakeAnswerToResend());
    }

    [Fact]
    public void A_device_restarted_mid_erase_finishes_the_journalled_erase_and_resends_its_receipt_until_a_verdict_comes()
    {
        var command = gateway.Command(Meter);
        var disk = DeviceStateDirectory.Open(Data, Meter);
        byte[] publicKey;
        using (var device = new SimulatedDevice(new DeviceSpec { Id = Meter }, [gateway.PublicKey], GatewayKey.Now, disk: disk))
        {
            publicKey = device.AttestationPublicKey;
            Assert.True(device.TryReadData(out _));
        }
        // Power cut mid-erase: the journal says started, one slot's key is already gone, the other is still there.
        disk.WriteJournal(new EraseJournal
        {
            CommandId = command.CommandId, Nonce = command.Nonce, Step = EraseJournal.Started, KeyIds = ["media-key:0badc0de", "slot:user", "slot:recovery"],
        });
        disk.Shred(DeviceStateDirectory.KeyEncryptionKeyFile("user"));

        byte[] resent;
        using (var rebooted = new SimulatedDevice(new DeviceSpec { Id = Meter }, [gateway.PublicKey], GatewayKey.Now, disk: disk))
        {
            // Finished before anything was asked of it: every key gone, the receipt signed and waiting to go out again.
            Assert.True(rebooted.IsErased);
            Assert.False(rebooted.TryReadData(out _));
            Assert.Null(DecryptWithFilesOnDisk());
            resent = rebooted.TakeAnswerToResend()!;
            var receipt = JsonSerializer.Deserialize<WipeReceipt>(resent)!;
            Assert.Equal((command.CommandId, command.Nonce, ErasureMethods.Succeeded), (receipt.CommandId, receipt.Nonce, receipt.Outcome));
            Assert.Equal(["media-key:0badc0de", "slot:user", "slot:recovery"], receipt.DestroyedKeyIds);
            Assert.True(VerifiesWith(publicKey, receipt));
            Assert.Equal(EraseJournal.ReceiptSigned, disk.ReadJournal()!.Step);
            Assert.Equal(resent, rebooted.Receive(JsonSerializer.SerializeToUtf8Bytes(command), GatewayKey.Now));
        }

        // No verdict yet: after the next restart it goes out again, the same bytes.
        using (var again = new SimulatedDevice(new DeviceSpec { Id = Meter }, [gateway.PublicKey], GatewayKey.Now, disk: disk))
        {
            Assert.Equal(resent, again.TakeAnswerToResend());
            again.Receive(gateway.Verdict(Meter, command.CommandId, resent, EraseVerdict.Rejected, "ClockSkew"), GatewayKey.Now);
        }
        // A verdict came (rejected: the key stays): nothing is re-sent any more, but the command again still gets the receipt.
        using var afterVerdict = new SimulatedDevice(new DeviceSpec { Id = Meter }, [gateway.PublicKey], GatewayKey.Now, disk: disk);
        Assert.Null(afterVerdict.TakeAnswerToResend());
        Assert.False(afterVerdict.AttestationKeyDestroyed);
        Assert.Equal(resent, afterVerdict.Receive(JsonSerializer.SerializeToUtf8Bytes(command), GatewayKey.Now));
    }

    [Fact]
    public async Task A_second_fleet_on_the_data_directory_of_a_running_one_is_refused_until_that_one_stops()
    {
        var options = Options(o => o.Devices = [new DeviceSpec { Id = Meter }]);
        await using (var running = DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance))
        {
            var refused = Assert.Throws<InvalidOperationException>(() => DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance));
            Assert.Contains("Another device agent uses the data directory", refused.Message, StringComparison.Ordinal);
        }

        await using var next = DeviceFleet.Create(options, TimeProvider.System, NullLoggerFactory.Instance);
        Assert.Single(next.AttestationPublicKeys);
    }

    /// <summary>The fleet of one device on this test's data directory, started with its bundle in place: the device is
    /// provisioned, with no broker to reach.</summary>
    private async Task<DeviceFleet> StartedFleet(System.Security.Cryptography.X509Certificates.X509Certificate2 ca)
    {
        var fleet = DeviceFleet.Create(Options(o => o.Devices = [new DeviceSpec { Id = Meter }]), TimeProvider.System, NullLoggerFactory.Instance);
        // Enrolled once, at the first start: a restart finds the same bundle, which fits only the key the device made then.
        if (!File.Exists(Path.Combine(provisioning, ProvisioningBundle.FileName(Meter))))
            WriteBundle(Meter, Certificate(ca, Meter, fleet.AttestationPublicKeys[Meter]));
        await fleet.StartAsync(CancellationToken.None);
        Assert.True(fleet.Devices.ContainsKey(Meter), $"{Meter} provisioned");
        return fleet;
    }

    /// <summary>The data as anyone holding the device's disk could read it, from the files alone: null when no slot's
    /// key-encryption key and wrapped media key are both there.</summary>
    private List<string>? DecryptWithFilesOnDisk()
    {
        foreach (var slot in Slots)
        {
            var kekFile = Path.Combine(DeviceDirectory, DeviceStateDirectory.KeyEncryptionKeyFile(slot));
            var wrappedFile = Path.Combine(DeviceDirectory, DeviceStateDirectory.WrappedMediaKeyFile(slot));
            if (!File.Exists(kekFile) || !File.Exists(wrappedFile))
                continue;
            var mediaKey = Open(File.ReadAllBytes(kekFile), File.ReadAllBytes(wrappedFile));
            var records = JsonSerializer.Deserialize<List<byte[]>>(File.ReadAllBytes(Path.Combine(DeviceDirectory, DeviceStateDirectory.RecordsFile)))!;
            return [.. records.Select(record => Encoding.UTF8.GetString(Open(mediaKey, record)))];
        }
        return null;
    }

    /// <summary>AES-256-GCM, stored as nonce (12) ‖ ciphertext ‖ tag (16).</summary>
    private static byte[] Open(byte[] key, byte[] sealedBox)
    {
        using var aes = new AesGcm(key, 16);
        var plaintext = new byte[sealedBox.Length - 28];
        aes.Decrypt(sealedBox[..12], sealedBox[12..^16], sealedBox[^16..], plaintext);
        return plaintext;
    }

    private static bool VerifiesWith(byte[] publicKey, WipeReceipt receipt)
    {
        using var key = ProtocolSigning.ImportPublicKey(publicKey);
        return receipt.KeyId == ProtocolSigning.KeyId(publicKey) && ProtocolSigning.Verify(key, receipt.SignedBytes(), receipt.Signature);
    }

    private void AssertOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("owner-only file modes are checked on POSIX systems");
        Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(Data));
        Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(DeviceDirectory));
        var files = Directory.EnumerateFiles(DeviceDirectory).ToList();
        Assert.Contains(files, file => Path.GetFileName(file) == DeviceStateDirectory.AttestationKeyFile);
        foreach (var file in files)
            Assert.True(File.GetUnixFileMode(file) == OwnerOnlyFile, $"{Path.GetFileName(file)} is {File.GetUnixFileMode(file)}, not owner-only");
    }
}
