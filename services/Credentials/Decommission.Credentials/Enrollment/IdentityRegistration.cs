using Decommission.Contracts;
using MassTransit;

namespace Decommission.Credentials.Enrollment;

/// <summary>Registers enrolled devices' identity certificates with the device gateway and returns what it refused.</summary>
public sealed class IdentityRegistration(IClientFactory clients)
{
    // A fleet's CSV goes in batches: the gateway checks every certificate's chain.
    private const int BatchSize = 500;

    public async Task<IReadOnlyList<IdentityRefusal>> RegisterAsync(IReadOnlyList<DeviceIdentity> identities, string registeredBy, CancellationToken cancellationToken)
    {
        // Published to the request type's own exchange, which the broker's set-up binds to the gateway's queue: the credentials
        // service's user needs no right on that queue.
        var client = clients.CreateRequestClient<RegisterDeviceIdentities>(RequestTimeout.After(s: 60));
        var refused = new List<IdentityRefusal>();
        foreach (var batch in identities.Chunk(BatchSize))
        {
            var response = await client.GetResponse<DeviceIdentitiesRegistered>(
                new RegisterDeviceIdentities { Identities = batch, RegisteredBy = registeredBy }, cancellationToken);
            refused.AddRange(response.Message.Refused);
        }
        return refused;
    }
}
