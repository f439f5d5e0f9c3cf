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
public sealed class RegisterDeviceIdentitiesConsumer(AttestationKeyStore keys, FleetCa fleetCa, IDeviceChannel channel, TimeProvider clock,
    ILogger<RegisterDeviceIdentitiesConsumer> logger) : IConsumer<RegisterDeviceIdentities>
{
    public async Task Consume(ConsumeContext<RegisterDeviceIdentities> context)
    {
        var now = clock.GetUtcNow();
        var refused = new List<IdentityRefusal>();
        var accepted = new List<AttestationKey>();
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
                accepted.Add(new AttestationKey(identity.DeviceId, publicKey!, ProtocolSigning.KeyId(publicKey!), der));
        }

        var (registered, conflicts) = await keys.RegisterAsync(accepted, context.Message.RegisteredBy, now);
        refused.AddRange(conflicts.Select(c => new IdentityRefusal
        {
            DeviceId = c.DeviceId,
            Reason = $"the gateway already holds attestation key {c.StoredKeyId} for {c.DeviceId}; a different key ({c.OfferedKeyId}) is refused",
        }));

        // Each device's command queue exists from now on, so a device never needs to declare anything on the broker.
        foreach (var deviceId in registered)
            await channel.PrepareDeviceAsync(deviceId, context.CancellationToken);
        foreach (var refusal in refused)
            logger.LogWarning("Identity of {DeviceId} refused: {Reason}", UntrustedText.Safe(refusal.DeviceId), UntrustedText.Safe(refusal.Reason));
        await context.RespondAsync(new DeviceIdentitiesRegistered { Registered = registered, Refused = refused });
    }
}
