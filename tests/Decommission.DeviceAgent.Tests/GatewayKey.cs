using System.Security.Cryptography;
using Decommission.DeviceProtocol;

namespace Decommission.DeviceAgent.Tests;

/// <summary>Plays the gateway: owns a command-signing key and signs erase commands the way the protocol fixes.</summary>
public sealed class GatewayKey : IDisposable
{
    public static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public byte[] PublicKey => key.ExportSubjectPublicKeyInfo();

    public ECDsa SigningKey => key;

    public SimulatedDevice Device(DeviceBehaviour behaviour = DeviceBehaviour.Healthy, string id = "dev-1") =>
        new(new DeviceSpec { Id = id, Behaviour = behaviour }, PublicKey, Now);

    public EraseCommand Command(string deviceId, TimeSpan? validFor = null) => Sign(key, new EraseCommand
    {
        CommandId = Guid.NewGuid().ToString(),
        DeviceId = deviceId,
        Nonce = ProtocolSigning.NewNonce(),
        IssuedAt = ProtocolSigning.Timestamp(Now),
        ExpiresAt = ProtocolSigning.Timestamp(Now + (validFor ?? TimeSpan.FromHours(1))),
    });

    /// <summary>The signed verdict bytes on <paramref name="answer"/> (the receipt's bytes as the device sent them).</summary>
    public byte[] Verdict(string deviceId, string commandId, byte[] answer, string verdict, string? reason = null)
    {
        var unsigned = new EraseVerdict
        {
            VerdictId = Guid.NewGuid().ToString(), CommandId = commandId, DeviceId = deviceId,
            ReceiptSha256 = Convert.ToHexStringLower(SHA256.HashData(answer)),
            Verdict = verdict, Reason = reason, DecidedAt = ProtocolSigning.Timestamp(Now), KeyId = ProtocolSigning.KeyId(key),
        };
        return System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(unsigned with { Signature = ProtocolSigning.Sign(key, unsigned.SignedBytes()) });
    }

    public static EraseCommand Sign(ECDsa signingKey, EraseCommand command)
    {
        var unsigned = command with { KeyId = ProtocolSigning.KeyId(signingKey) };
        return unsigned with { Signature = ProtocolSigning.Sign(signingKey, unsigned.SignedBytes()) };
    }

    public void Dispose() => key.Dispose();
}
