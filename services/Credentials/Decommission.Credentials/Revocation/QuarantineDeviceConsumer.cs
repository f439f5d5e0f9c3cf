using Decommission.Contracts;
using Decommission.Credentials.Broker;
using Decommission.Credentials.Enrollment;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// Quarantine: every operational credential is revoked (its hash destroyed, so it can never validate again) and the device
/// moves to the quarantine segment. The identity (attestation) credential stays: the wipe needs it. At the broker, the
/// device is left its decommission topics only (its telemetry is refused) and its live connections are closed (narrowed
/// permissions do not reach a connection already using a topic), before DeviceQuarantined says so: a quarantine is
/// announced only once the broker enforces it. A broker failure throws: the order is retried, the quarantine answers the same.
/// </summary>
public sealed class QuarantineDeviceConsumer(EnrolledDeviceStore devices, AdmittedRetirementStore admitted, RevocationStore revocations,
    DeviceBrokerIdentities broker, IOptions<CredentialsOptions> options, TimeProvider clock, ILogger<QuarantineDeviceConsumer> logger)
    : IConsumer<QuarantineDevice>
{
    public async Task Consume(ConsumeContext<QuarantineDevice> context)
    {
        var order = context.Message;
        // Only inside a retirement the inventory admitted: the orchestrator's order alone revokes nothing.
        await admitted.EnsureAdmittedAsync(order.RetirementId, order.DeviceId, context.CancellationToken);
        var now = clock.GetUtcNow();
        var quarantined = await devices.QuarantineAsync(order.DeviceId, order.RetirementId, options.Value.QuarantineSegment, now, context.CancellationToken);
        if (quarantined is not { } done)
        {
            await context.Publish(new QuarantineRefused
            {
                RetirementId = order.RetirementId, DeviceId = order.DeviceId,
                Reason = RefusalReasons.UnknownDevice, Detail = $"device {order.DeviceId} was never enrolled with the credentials service",
            });
            return;
        }

        // A late repeat after the identity was revoked must not give the device a broker user back; a repeat after the broker
        // enforced it (a re-drive of a slow quarantine, a redelivery) must not close the device's connection once more.
        if ((await revocations.RetiredAsync([order.DeviceId], context.CancellationToken)).Count == 0 &&
            !await devices.BrokerQuarantinedAsync(order.DeviceId, context.CancellationToken))
        {
            await broker.QuarantineAsync(order.DeviceId, context.CancellationToken);
            await devices.MarkBrokerQuarantinedAsync(order.DeviceId, clock.GetUtcNow(), context.CancellationToken);
        }

        var (revoked, segment) = done;
        logger.LogInformation("Quarantined {DeviceId}: {Count} credentials revoked, segment {Segment}", order.DeviceId, revoked.Count, segment);
        await context.Publish(new DeviceQuarantined
        {
            RetirementId = order.RetirementId,
            DeviceId = order.DeviceId,
            RevokedCredentials = revoked.Select(c => new RevokedCredential { Kind = c.Kind, CredentialId = c.CredentialId, RevokedAt = c.RevokedAt }).ToList(),
            NetworkSegment = segment,
            QuarantinedAt = now,
        });
    }
}
