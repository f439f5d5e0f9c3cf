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
        var client = clients.CreateRequestClient<RegisterDeviceIdentities>(new Uri($"queue:{QueueNames.RegisterDeviceIdentities}"), RequestTimeout.After(s: 60));
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
