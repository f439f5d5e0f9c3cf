using System.Security.Cryptography;
using System.Text.Json;
using Decommission.DeviceProtocol;

namespace Decommission.DeviceAgent.Tests;

public sealed class SimulatedDeviceTests : IDisposable
{
    private readonly GatewayKey gateway = new();
    private static readonly DateTimeOffset Now = GatewayKey.Now;

    public void Dispose() => gateway.Dispose();

    [Fact]
    public void Valid_command_makes_the_data_unreadable_through_every_key_slot()
    {
        using var device = gateway.Device();
        Assert.True(device.TryReadData(out var before));
        Assert.Equal(64, before.Count);
        Assert.Contains(before, record => record.StartsWith("wifi-config", StringComparison.Ordinal));

        var receipt = device.Handle(gateway.Command(device.Id), Now);

        Assert.NotNull(receipt);
        Assert.True(device.IsErased);
        Assert.False(device.TryReadData(out var after));
        Assert.Empty(after);
        Assert.True(receipt.SelfCheckPassed);
        Assert.Equal("64 records, 2 key slots: decryption failed for all", receipt.SelfCheckDetail);
    }

    [Fact]
    public void Receipt_verifies_with_the_attestation_key_and_echoes_the_command()
    {
        using var device = gateway.Device();
        var command = gateway.Command(device.Id);

        var receipt = device.Handle(command, Now)!;

        using var attestationKey = ProtocolSigning.ImportPublicKey(device.AttestationPublicKey);
        Assert.True(ProtocolSigning.Verify(attestationKey, receipt.SignedBytes(), receipt.Signature));
        Assert.Equal(device.AttestationKeyId, receipt.KeyId);
        Assert.Equal((command.CommandId, command.DeviceId, command.Nonce), (receipt.CommandId, receipt.DeviceId, receipt.Nonce));
        Assert.Equal((ErasureMethods.Succeeded, ErasureMethods.CryptographicErase), (receipt.Outcome, receipt.Method));
        Assert.Matches("^media-key:[0-9a-f]{8}$", receipt.DestroyedKeyIds[0]);
        Assert.Equal(["slot:user", "slot:recovery"], receipt.DestroyedKeyIds.Skip(1));
        Assert.Equal(ProtocolSigning.Timestamp(Now), receipt.CompletedAt);
        Assert.Same(receipt, device.LastReceipt);
    }

    [Fact]
    public void Same_command_again_gets_the_identical_stored_receipt()
    {
        using var device = gateway.Device();
        var command = gateway.Command(device.Id);

        var first = device.Handle(command, Now);
        var again = device.Handle(command, Now.AddMinutes(5));

        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(first), JsonSerializer.SerializeToUtf8Bytes(again));
        Assert.Equal(2, device.CommandsReceived);
    }

    [Fact]
    public void New_command_to_an_erased_device_is_answered_with_a_fresh_passing_receipt()
    {
        using var device = gateway.Device();
        var first = device.Handle(gateway.Command(device.Id), Now)!;
        var second = gateway.Command(device.Id);

        var receipt = device.Handle(second, Now.AddMinutes(1))!;

        Assert.Equal((second.CommandId, second.Nonce), (receipt.CommandId, receipt.Nonce));
        Assert.NotEqual(first.ReceiptId, receipt.ReceiptId);
        Assert.True(receipt.SelfCheckPassed);
        Assert.Equal(first.DestroyedKeyIds, receipt.DestroyedKeyIds);
    }

    public static TheoryData<string, Func<GatewayKey, EraseCommand>> Commands_a_device_must_ignore => new()
    {
        { "signed by another key", g => { using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256); return GatewayKey.Sign(forger, g.Command("dev-1")); } },
        { "claiming the gateway key id with another key's signature",
            g => { using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256); return GatewayKey.Sign(forger, g.Command("dev-1")) with { KeyId = g.Command("dev-1").KeyId }; } },
        { "changed after signing", g => g.Command("dev-1") with { Nonce = ProtocolSigning.NewNonce() } },
        { "for another device", g => g.Command("dev-2") },
        { "already expired", g => g.Command("dev-1", validFor: TimeSpan.Zero) },
        { "of another type", g => g.Command("dev-1") with { MessageType = "decommission.reboot-command" } },
        { "of another protocol version, validly signed", g => GatewayKey.Sign(g.SigningKey, g.Command("dev-1") with { Version = 3 }) },
        { "with an unreadable signature", g => g.Command("dev-1") with { Signature = "not base64!" } },
    };

    [Theory]
    [MemberData(nameof(Commands_a_device_must_ignore))]
    public void Command_that_is_forged_misaddressed_or_expired_erases_nothing(string why, Func<GatewayKey, EraseCommand> command)
    {
        using var device = gateway.Device();

        var receipt = device.Handle(command(gateway), Now);

        Assert.Null(receipt);
        Assert.False(device.IsErased, why);
        Assert.True(device.TryReadData(out var records));
        Assert.Equal(64, records.Count);
        Assert.Equal(1, device.CommandsReceived);
    }

    [Fact]
    public void EraseFails_device_reports_a_signed_failure_and_keeps_its_data_readable()
    {
        using var device = gateway.Device(DeviceBehaviour.EraseFails);

        var receipt = device.Handle(gateway.Command(device.Id), Now)!;

        using var attestationKey = ProtocolSigning.ImportPublicKey(device.AttestationPublicKey);
        Assert.True(ProtocolSigning.Verify(attestationKey, receipt.SignedBytes(), receipt.Signature));
        Assert.Equal(ErasureMethods.Failed, receipt.Outcome);
        Assert.False(receipt.SelfCheckPassed);
        Assert.Empty(receipt.DestroyedKeyIds);
        Assert.Contains("2 of 2 key slots", receipt.SelfCheckDetail);
        Assert.False(device.IsErased);
        Assert.True(device.TryReadData(out _));
    }

    [Fact]
    public void SignsWithWrongKey_device_erases_but_its_receipt_fails_the_registered_key()
    {
        using var device = gateway.Device(DeviceBehaviour.SignsWithWrongKey);

        var receipt = device.Handle(gateway.Command(device.Id), Now)!;

        using var attestationKey = ProtocolSigning.ImportPublicKey(device.AttestationPublicKey);
        Assert.False(ProtocolSigning.Verify(attestationKey, receipt.SignedBytes(), receipt.Signature));
        Assert.NotEqual(device.AttestationKeyId, receipt.KeyId);
        Assert.Matches("^[0-9a-f]{64}$", receipt.KeyId);
        Assert.True(receipt.SelfCheckPassed);
        Assert.False(device.TryReadData(out _));
    }

    [Fact]
    public void ReplaysOldReceipt_device_sends_a_genuine_day_old_receipt_for_another_command_and_keeps_its_data()
    {
        using var device = gateway.Device(DeviceBehaviour.ReplaysOldReceipt);
        var command = gateway.Command(device.Id);

        var receipt = device.Handle(command, Now)!;

        using var attestationKey = ProtocolSigning.ImportPublicKey(device.AttestationPublicKey);
        Assert.True(ProtocolSigning.Verify(attestationKey, receipt.SignedBytes(), receipt.Signature));
        Assert.NotEqual(command.CommandId, receipt.CommandId);
        Assert.NotEqual(command.Nonce, receipt.Nonce);
        Assert.Equal(device.Id, receipt.DeviceId);
        Assert.True(ProtocolSigning.TryParseTimestamp(receipt.CompletedAt, out var completedAt));
        Assert.True(ProtocolSigning.TryParseTimestamp(command.IssuedAt, out var issuedAt));
        Assert.Equal(issuedAt.AddDays(-1), completedAt);
        Assert.False(device.IsErased);
        Assert.True(device.TryReadData(out _));
    }

    [Fact]
    public void Devices_hold_their_own_attestation_keys()
    {
        using var first = gateway.Device(id: "dev-1");
        using var second = gateway.Device(id: "dev-2");

        Assert.NotEqual(first.AttestationKeyId, second.AttestationKeyId);
        Assert.Equal(ProtocolSigning.KeyId(first.AttestationPublicKey), first.AttestationKeyId);
    }

    [Fact]
    public void A_command_carrying_a_field_the_device_does_not_know_is_acted_on_because_the_signature_covers_it()
    {
        using var device = gateway.Device();
        var json = JsonSerializer.SerializeToNode(gateway.Command(device.Id))!.AsObject();
        json["priority"] = "high";
        using (var unsigned = JsonDocument.Parse(json.ToJsonString()))
            json["signature"] = ProtocolSigning.Sign(gateway.SigningKey, JsonCanonicalization.Canonicalize(unsigned.RootElement, SignedMessage.SignatureField));

        var (received, problem) = SignedMessage.Parse<EraseCommand>(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), EraseCommand.Type);
        Assert.Null(problem);
        Assert.NotNull(device.Handle(received!, Now));
        Assert.True(device.IsErased);

        // The same field changed after signing: the device ignores the command.
        using var other = gateway.Device(id: "dev-2");
        json["deviceId"] = "dev-2";
        var (tampered, _) = SignedMessage.Parse<EraseCommand>(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), EraseCommand.Type);
        Assert.Null(other.Handle(tampered!, Now));
    }
}
