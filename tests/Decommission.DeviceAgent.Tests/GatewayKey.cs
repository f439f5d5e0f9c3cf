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

    public static EraseCommand Sign(ECDsa signingKey, EraseCommand command)
    {
        var unsigned = command with { KeyId = ProtocolSigning.KeyId(signingKey) };
        return unsigned with { Signature = ProtocolSigning.Sign(signingKey, unsigned.SignedBytes()) };
    }

    public void Dispose() => key.Dispose();
}
