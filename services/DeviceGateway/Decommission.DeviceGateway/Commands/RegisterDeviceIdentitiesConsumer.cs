using Dapper;
using Decommission.Contracts;
using Decommission.DeviceGateway.Channel;
using Decommission.DeviceProtocol;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// Registers devices' attestation keys, each only with its fleet-CA identity certificate over that key. A device keeps
/// the key it was first registered with: a different key is refused (and said so to enrollment), never replaced.
/// </summary>
public sealed class RegisterDeviceIdentitiesConsumer(GatewayDatabase database, FleetCa fleetCa, IDeviceChannel channel, TimeProvider clock,
    ILogger<RegisterDeviceIdentitiesConsumer> logger) : IConsumer<RegisterDeviceIdentities>
{
    public async Task Consume(ConsumeContext<RegisterDeviceIdentities> context)
    {
        var now = clock.GetUtcNow();
        var refused = new List<IdentityRefusal>();
        var accepted = new List<(string DeviceId, byte[] PublicKey, string KeyId, byte[] Certificate)>();
        foreach (var identity in context.Message.Identities)
        {
            byte[] der;
            try
            {
                der = Convert.FromBase64String(identity.IdentityCertificate);
            }
            catch (FormatException)
            {
                refused.Add(new IdentityRefusal { DeviceId = identity.DeviceId, Reason = "the identity certificate is not base64 DER" });
                continue;
            }
            var (publicKey, problem) = DeviceIdentityCertificate.Check(der, fleetCa.Certificate, identity.DeviceId, now);
            if (problem is not null)
                refused.Add(new IdentityRefusal { DeviceId = identity.DeviceId, Reason = $"identity certificate refused: {problem}" });
            else
                accepted.Add((identity.DeviceId, publicKey!, ProtocolSigning.KeyId(publicKey!), der));
        }

        var registered = await database.Writes.WriteAsync(async (connection, transaction) =>
        {
            var done = new List<string>();
            foreach (var (deviceId, publicKey, keyId, certificate) in accepted)
            {
                var stored = await connection.QuerySingleOrDefaultAsync<string>(
                    "SELECT key_id FROM attestation_keys WHERE device_id = @DeviceId;", new { DeviceId = deviceId }, transaction);
                if (stored is not null && stored != keyId)
                {
                    refused.Add(new IdentityRefusal
                    {
                        DeviceId = deviceId,
                        Reason = $"the gateway already holds attestation key {stored} for {deviceId}; a different key ({keyId}) is refused",
                    });
                    continue;
                }
                // The same key again (re-enrollment): keep the key, take the newer certificate.
                await connection.ExecuteAsync("""
                    INSERT INTO attestation_keys (device_id, public_key, key_id, registered_by, registered_at, identity_certificate)
                    VALUES (@DeviceId, @PublicKey, @KeyId, @RegisteredBy, @Now, @Certificate)
                    ON CONFLICT (device_id) DO UPDATE SET identity_certificate = excluded.identity_certificate;
                    """, new { DeviceId = deviceId, PublicKey = publicKey, KeyId = keyId, context.Message.RegisteredBy, Now = now.ToString("O"), Certificate = certificate },
                    transaction);
                done.Add(deviceId);
            }
            return done;
        });

        // Each device's command queue exists from now on, so a device never needs to declare anything on the broker.
        foreach (var deviceId in registered)
            await channel.PrepareDeviceAsync(deviceId, context.CancellationToken);
        foreach (var refusal in refused)
            logger.LogWarning("Identity of {DeviceId} refused: {Reason}", UntrustedText.Safe(refusal.DeviceId), UntrustedText.Safe(refusal.Reason));
        await context.RespondAsync(new DeviceIdentitiesRegistered { Registered = registered, Refused = refused });
    }
}
