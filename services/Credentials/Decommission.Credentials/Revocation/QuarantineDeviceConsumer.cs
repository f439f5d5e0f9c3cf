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

        // A late repeat after the identity was revoked must not give the device a broker user back.
        if ((await revocations.RetiredAsync([order.DeviceId], context.CancellationToken)).Count == 0)
            await QuarantineAtBrokerAsync(order.DeviceId, context.CancellationToken);

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

    /// <summary>
    /// The broker's part, once across replicas: a repeated order (a re-drive of a slow quarantine, a redelivery, a copy on
    /// another replica) must not close the device's connection again, so a copy that finds it under way elsewhere waits
    /// until it is done, and takes it over if its claim grows stale (the replica that claimed it is gone).
    /// </summary>
    private async Task QuarantineAtBrokerAsync(string deviceId, CancellationToken cancellationToken)
    {
        while (true)
        {
            switch (await devices.ClaimBrokerQuarantineAsync(deviceId, clock.GetUtcNow(), BrokerQuarantineTakeOver, cancellationToken))
            {
                case BrokerQuarantine.Done:
                    return;
                case BrokerQuarantine.Claimed:
                    try
                    {
                        await broker.QuarantineAsync(deviceId, cancellationToken);
                    }
                    catch
                    {
                        // The order's retry (or another copy) takes it up again at once rather than after the take-over time.
                        await devices.ReleaseBrokerQuarantineAsync(deviceId, CancellationToken.None);
                        throw;
                    }
                    await devices.MarkBrokerQuarantinedAsync(deviceId, clock.GetUtcNow(), cancellationToken);
                    return;
                default:
                    await Task.Delay(BrokerQuarantinePoll, clock, cancellationToken);
                    break;
            }
        }
    }

    /// <summary>How long another replica's claim on a device's broker quarantine holds before it is taken over.</summary>
    internal static readonly TimeSpan BrokerQuarantineTakeOver = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan BrokerQuarantinePoll = TimeSpan.FromSeconds(1);
}
