using Decommission.Contracts;
using Decommission.Credentials.Broker;
using MassTransit;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// After the verified wipe: the device's identity certificate goes on a new signed CRL (then IdentityRevoked: the saga
/// goes on to the certificate without waiting for the broker's management API), and its broker identity goes (its live
/// connections close, its next connect is refused). A retry after a broker failure finds the revocation done, announces
/// it again (the saga ignores the repeat) and removes the broker identity again.
/// </summary>
public sealed class RevokeIdentityConsumer(CrlPublisher crls, AdmittedRetirementStore admitted, DeviceBrokerIdentities broker) : IConsumer<RevokeIdentity>
{
    public async Task Consume(ConsumeContext<RevokeIdentity> context)
    {
        var order = context.Message;
        await admitted.EnsureAdmittedAsync(order.RetirementId, order.DeviceId, context.CancellationToken);
        if (await crls.RevokeAsync(order.DeviceId, order.RetirementId, context.CancellationToken) is not { } revocation)
            throw new UnknownDeviceException($"Device {order.DeviceId} has no identity certificate to revoke: it was never enrolled.");
        await context.Publish(new IdentityRevoked
        {
            RetirementId = order.RetirementId,
            DeviceId = order.DeviceId,
            CertificateSerial = revocation.Serial,
            CrlNumber = revocation.CrlNumber,
            RevokedAt = revocation.RevokedAt,
        });
        await broker.RemoveAsync(order.DeviceId, context.CancellationToken);
    }
}

/// <summary>An order about a device this service does not know; no retry changes that.</summary>
public sealed class UnknownDeviceException(string message) : Exception(message);
