using Dapper;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// The retirements the inventory admitted: the credentials service revokes anything only for one of them. The admission
/// and the order travel on different queues, so an order that arrives first waits for it (retried), then goes to _error.
/// </summary>
public sealed class AdmittedRetirements(CredentialsDatabase database)
{
    public Task RecordAsync(RetirementAccepted accepted) =>
        database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync(
            "INSERT OR IGNORE INTO admitted_retirements (retirement_id, device_id, admitted_at) VALUES (@RetirementId, @DeviceId, @At);",
            new { RetirementId = accepted.RetirementId.ToString(), accepted.DeviceId, At = DateTimeOffset.UtcNow.ToString("O") }, transaction));

    public async Task EnsureAdmittedAsync(Guid retirementId, string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var admitted = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM admitted_retirements WHERE retirement_id = @RetirementId AND device_id = @DeviceId;",
            new { RetirementId = retirementId.ToString(), DeviceId = deviceId });
        if (admitted == 0)
            throw new NotAdmittedException(
                $"retirement {retirementId} of {Decommission.DeviceProtocol.UntrustedText.Safe(deviceId)} was not admitted by the inventory (no RetirementAccepted); nothing was revoked");
    }
}

/// <summary>Records the inventory's admissions.</summary>
public sealed class RetirementAdmissionConsumer(AdmittedRetirements admitted) : IConsumer<RetirementAccepted>
{
    public Task Consume(ConsumeContext<RetirementAccepted> context) => admitted.RecordAsync(context.Message);
}

/// <summary>An order for a retirement the inventory has not (yet) admitted.</summary>
public sealed class NotAdmittedException(string message) : Exception(message);
