using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceAgent.Tests;

/// <summary>The device's side of refusals, verdicts and key rotation, through its one transport-free entry point.</summary>
public sealed class SimulatedDeviceVerdictTests : IDisposable
{
    private readonly GatewayKey gateway = new();
    private static readonly DateTimeOffset Now = GatewayKey.Now;

    public void Dispose() => gateway.Dispose();

    private static byte[] Bytes<T>(T message) => JsonSerializer.SerializeToUtf8Bytes(message);

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static byte[] Verdict(ECDsa key, string deviceId, string commandId, byte[] answer, string verdict, string? reason = null, bool refusal = false)
    {
        var unsigned = new EraseVerdict
        {
            VerdictId = Guid.NewGuid().ToString(), CommandId = commandId, DeviceId = deviceId,
            ReceiptSha256 = refusal ? null : Sha256(answer), RefusalSha256 = refusal ? Sha256(answer) : null,
            Verdict = verdict, Reason = reason, DecidedAt = ProtocolSigning.Timestamp(Now), KeyId = ProtocolSigning.KeyId(key),
        };
        return Bytes(unsigned with { Signature = ProtocolSigning.Sign(key, unsigned.SignedBytes()) });
    }

    [Fact]
    public void Accepted_verdict_on_its_receipt_destroys_the_attestation_key_and_a_resent_command_still_gets_the_same_receipt()
    {
        using var device = gateway.Device();
        var command = Bytes(gateway.Command(device.Id));
        var receipt = device.Receive(command, Now)!;

        Assert.Null(device.Receive(Verdict(gateway.SigningKey, device.Id, device.LastReceipt!.CommandId, receipt, EraseVerdict.Accepted), Now));

        Assert.True(device.AttestationKeyDestroyed);
        Assert.Equal(EraseVerdict.Accepted, device.LastVerdict!.Verdict);
        Assert.Equal(receipt, device.Receive(command, Now.AddMinutes(1)));
        // Nothing new can be signed any more.
        Assert.Null(device.Receive(Bytes(gateway.Command(device.Id)), Now.AddMinutes(2)));
    }

    [Fact]
    public void Rejected_verdict_keeps_the_attestation_key_and_a_resent_command_gets_the_stored_receipt_byte_for_byte()
    {
        using var device = gateway.Device(DeviceBehaviour.EraseFails);
        var command = Bytes(gateway.Command(device.Id));
        var receipt = device.Receive(command, Now)!;

        device.Receive(Verdict(gateway.SigningKey, device.Id, device.LastReceipt!.CommandId, receipt, EraseVerdict.Rejected, "DeviceReportedFailure"), Now);

        Assert.False(device.AttestationKeyDestroyed);
        Assert.Equal(("rejected", "DeviceReportedFailure"), (device.LastVerdict!.Verdict, device.LastVerdict.Reason));
        Assert.Equal(receipt, device.Receive(command, Now.AddMinutes(1)));
    }

    [Fact]
    public void A_verdict_not_signed_by_a_provisioned_key_or_not_about_its_own_receipt_is_ignored()
    {
        using var device = gateway.Device();
        var receipt = device.Receive(Bytes(gateway.Command(device.Id)), Now)!;
        var commandId = device.LastReceipt!.CommandId;
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        device.Receive(Verdict(forger, device.Id, commandId, receipt, EraseVerdict.Accepted), Now);
        device.Receive(Verdict(gateway.SigningKey, device.Id, commandId, [.. receipt, (byte)' '], EraseVerdict.Accepted), Now);
        device.Receive(Verdict(gateway.SigningKey, "dev-2", commandId, receipt, EraseVerdict.Accepted), Now);
        device.Receive(Verdict(gateway.SigningKey, device.Id, Guid.NewGuid().ToString(), receipt, EraseVerdict.Accepted), Now);

        Assert.False(device.AttestationKeyDestroyed);
        Assert.Null(device.LastVerdict);
    }

    [Fact]
    public void Refusing_device_sends_a_refusal_signed_by_its_attestation_key_over_the_rfc8785_bytes_and_erases_nothing()
    {
        using var device = gateway.Device(DeviceBehaviour.Refuses);
        var command = gateway.Command(device.Id);

        var sent = device.Receive(Bytes(command), Now)!;

        var (refusal, problem) = SignedMessage.Parse<EraseRefusal>(sent, EraseRefusal.Type);
        Assert.Null(problem);
        using var attestationKey = ProtocolSigning.ImportPublicKey(device.AttestationPublicKey);
        Assert.True(ProtocolSigning.Verify(attestationKey, refusal!.SignedBytes, refusal.Message.Signature));
        Assert.Equal((command.CommandId, command.Nonce, RefusalReasons.NotPermitted, device.AttestationKeyId),
            (refusal.Message.CommandId, refusal.Message.Nonce, refusal.Message.Reason, refusal.Message.KeyId));
        // RFC 8785: the device's text is signed raw, only the quote, the backslash and control characters escaped.
        Assert.Contains("«Schichtleiter» <ops&maint>: it's \\\"locked\\\"\\n+1", Encoding.UTF8.GetString(refusal.SignedBytes));
        Assert.True(device.TryReadData(out _));
        Assert.Equal(sent, device.Receive(Bytes(command), Now.AddMinutes(1)));

        device.Receive(Verdict(gateway.SigningKey, device.Id, command.CommandId, sent, EraseVerdict.Accepted, refusal: true), Now);
        Assert.Equal(EraseVerdict.Accepted, device.LastVerdict!.Verdict);
        Assert.False(device.AttestationKeyDestroyed);
    }

    [Fact]
    public void After_rotation_a_device_provisioned_with_old_and_new_keys_obeys_and_one_with_only_the_old_key_ignores_and_says_why()
    {
        using var next = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var log = new ListLogger();
        using var both = new SimulatedDevice(new DeviceSpec { Id = "dev-both" }, [gateway.PublicKey, next.ExportSubjectPublicKeyInfo()], Now);
        using var oldOnly = new SimulatedDevice(new DeviceSpec { Id = "dev-old" }, [gateway.PublicKey], Now, log);

        Assert.NotNull(both.Receive(Bytes(GatewayKey.Sign(next, gateway.Command(both.Id))), Now));
        Assert.True(both.IsErased);

        Assert.Null(oldOnly.Receive(Bytes(GatewayKey.Sign(next, gateway.Command(oldOnly.Id))), Now));
        Assert.False(oldOnly.IsErased);
        Assert.Contains(log.Lines, line => line.Contains($"signed with key {ProtocolSigning.KeyId(next)}, which this device was not provisioned with", StringComparison.Ordinal));
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
