using Dapper;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// The retirements the inventory admitted (table admitted_retirements): the credentials service revokes anything only for one
/// of them. The admission and the order travel on different queues, so an order that arrives first waits for it (retried), then goes to _error.
/// </summary>
public sealed class AdmittedRetirementStore(CredentialsDatabase database)
{
    public Task RecordAsync(Guid retirementId, string deviceId, DateTimeOffset admittedAt) =>
        database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync(
            "INSERT INTO admitted_retirements (retirement_id, device_id, admitted_at) VALUES (@RetirementId, @DeviceId, @At) ON CONFLICT DO NOTHING;",
            new { RetirementId = retirementId.ToString(), DeviceId = deviceId, At = admittedAt.ToString("O") }, transaction));

    public async Task<bool> IsAdmittedAsync(Guid retirementId, string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM admitted_retirements WHERE retirement_id = @RetirementId AND device_id = @DeviceId;",
            new { RetirementId = retirementId.ToString(), DeviceId = deviceId }) > 0;
    }

    /// <summary>Throws <see cref="NotAdmittedException"/> (retried while the admission may still be on its way) unless the retirement was admitted.</summary>
    public async Task EnsureAdmittedAsync(Guid retirementId, string deviceId, CancellationToken cancellationToken)
    {
        if (!await IsAdmittedAsync(retirementId, deviceId, cancellationToken))
            throw new NotAdmittedException(
                $"retirement {retirementId} of {Decommission.DeviceProtocol.UntrustedText.Safe(deviceId)} was not admitted by the inventory (no RetirementAccepted); nothing was revoked");
    }
}

/// <summary>An order for a retirement the inventory has not (yet) admitted.</summary>
public sealed class NotAdmittedException(string message) : Exception(message);
