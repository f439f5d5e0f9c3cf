using System.Security.Claims;
using Dapper;

namespace Decommission.Certificates.Apis;

/// <summary>Who downloaded or verified what, when: one row per access.</summary>
public sealed class AccessLog(CertificatesDatabase database, TimeProvider clock)
{
    public async Task WriteAsync(ClaimsPrincipal user, string action, string? certificateId, string outcome, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("""
            INSERT INTO access_log (at, key_name, role, action, certificate_id, outcome) VALUES (@At, @Name, @Role, @Action, @CertificateId, @Outcome);
            """, new
        {
            At = clock.GetUtcNow().ToString("O"), Name = user.Identity?.Name ?? "", Role = user.FindFirstValue(ClaimTypes.Role) ?? "",
            Action = action, CertificateId = certificateId, Outcome = outcome,
        });
    }

    public async Task<IReadOnlyList<AccessEntry>> RecentAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<AccessEntry>("""
            SELECT at AS At, key_name AS Who, role AS Role, action AS Action, certificate_id AS CertificateId, outcome AS Outcome
            FROM access_log ORDER BY id DESC LIMIT @Limit;
            """, new { Limit = limit })).ToList();
    }
}

public sealed record AccessEntry(string At, string Who, string Role, string Action, string? CertificateId, string Outcome);
