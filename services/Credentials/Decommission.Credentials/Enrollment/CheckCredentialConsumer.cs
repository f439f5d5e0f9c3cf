using Dapper;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.Credentials.Enrollment;

/// <summary>Tells any service whether a secret is still a valid credential of the device; a revoked one has no hash left to match.</summary>
public sealed class CheckCredentialConsumer(CredentialsDatabase database) : IConsumer<CheckCredential>
{
    public async Task Consume(ConsumeContext<CheckCredential> context)
    {
        var query = context.Message;
        await using var connection = await database.OpenAsync(context.CancellationToken);
        var credentials = (await connection.QueryAsync<(string Kind, string? Hash, string? RevokedAt)>(
            "SELECT kind AS Kind, hash AS Hash, revoked_at AS RevokedAt FROM credentials WHERE device_id = @DeviceId;", new { query.DeviceId })).ToList();

        var match = credentials.FirstOrDefault(c => c.Hash is not null && SecretHasher.Verify(query.Secret, c.Hash));
        await context.RespondAsync(new CredentialChecked
        {
            DeviceId = query.DeviceId,
            Valid = match.Hash is not null,
            Kind = match.Kind ?? "",
            Reason = match.Hash is not null ? ""
                : credentials.Count == 0 ? "unknown device"
                : credentials.All(c => c.RevokedAt is not null) ? "the device's credentials are revoked"
                : "no credential of the device matches",
        });
    }
}
