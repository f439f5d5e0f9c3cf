using Decommission.Contracts;
using Decommission.Credentials.Broker;
using MassTransit;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// After the verified wipe: the device's identity certificate goes on a new signed CRL, and its broker identity goes (its
/// live connections close, its next connect is refused). A retry after a broker failure finds the revocation done and
/// removes the broker identity again.
/// </summary>
public sealed class RevokeIdentityConsumer(CrlPublisher crls, AdmittedRetirementStore admitted, DeviceBrokerIdentities broker) : IConsumer<RevokeIdentity>
{
    public async Task Consume(ConsumeContext<RevokeIdentity> context)
    {
        var order = context.Message;
        await admitted.EnsureAdmittedAsync(order.RetirementId, order.DeviceId, context.CancellationToken);
        if (await crls.RevokeAsync(order.DeviceId, order.RetirementId, context.CancellationToken) is not { } revocation)
            throw new UnknownDeviceException($"Device {order.DeviceId} has no identity certificate to revoke: it was never enrolled.");
        await broker.RemoveAsync(order.DeviceId, context.CancellationToken);

        await context.Publish(new IdentityRevoked
        {
            RetirementId = order.RetirementId,
            DeviceId = order.DeviceId,
            CertificateSerial = revocation.Serial,
            CrlNumber = revocation.CrlNumber,
            RevokedAt = revocation.RevokedAt,
        });
    }
}

/// <summary>An order about a device this service does not know; no retry changes that.</summary>
public sealed class UnknownDeviceException(string message) : Exception(message);
