using System.Security.Cryptography;
using Dapper;
using Decommission.Contracts;
using Decommission.DeviceProtocol;
using MassTransit;

namespace Decommission.DeviceGateway.Commands;

/// <summary>Records a device's attestation public key. A device keeps the key it was registered with: a different key is refused.</summary>
public sealed class RegisterAttestationKeyConsumer(GatewayDatabase database, TimeProvider clock) : IConsumer<RegisterAttestationKey>
{
    public async Task Consume(ConsumeContext<RegisterAttestationKey> context)
    {
        var message = context.Message;
        if (string.IsNullOrWhiteSpace(message.DeviceId))
            throw new InvalidAttestationKeyException("RegisterAttestationKey needs a DeviceId.");
        byte[] publicKey;
        try
        {
            publicKey = Convert.FromBase64String(message.PublicKey);
            using var _ = ProtocolSigning.ImportPublicKey(publicKey);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            throw new InvalidAttestationKeyException($"The attestation key of {message.DeviceId} is not a base64 ECDSA P-256 SubjectPublicKeyInfo: {e.Message}");
        }

        var keyId = ProtocolSigning.KeyId(publicKey);
        await using var connection = await database.OpenAsync(context.CancellationToken);
        await connection.ExecuteAsync("""
            INSERT OR IGNORE INTO attestation_keys (device_id, public_key, key_id, registered_by, registered_at)
            VALUES (@DeviceId, @PublicKey, @KeyId, @RegisteredBy, @Now);
            """, new { message.DeviceId, PublicKey = publicKey, KeyId = keyId, message.RegisteredBy, Now = clock.GetUtcNow().ToString("O") });
        var stored = await connection.QuerySingleAsync<string>("SELECT key_id FROM attestation_keys WHERE device_id = @DeviceId;", new { message.DeviceId });
        if (stored != keyId)
            throw new InvalidAttestationKeyException($"Device {message.DeviceId} is already registered with attestation key {stored}; a different key is refused.");

        await context.RespondAsync(new AttestationKeyRegistered { DeviceId = message.DeviceId, KeyId = keyId });
    }
}

/// <summary>A registration no retry can make valid.</summary>
public sealed class InvalidAttestationKeyException(string message) : Exception(message);
