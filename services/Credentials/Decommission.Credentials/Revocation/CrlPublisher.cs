using Dapper;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// Revokes identity certificates. Each revocation issues a new CRL, numbered one above the last, that lists every
/// revocation so far: CRLs are built one at a time inside the write transaction, so no CRL can drop an earlier entry.
/// </summary>
public sealed class CrlPublisher(CredentialsDatabase database, FleetCertificateAuthority ca, IOptions<CredentialsOptions> options, TimeProvider clock)
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public string CrlPath => Path.Combine(options.Value.DataDirectory, "crl", "fleet.crl");

    /// <summary>Revokes the device's identity for the retirement; a repeat answers the existing revocation. Null for an unknown device.</summary>
    public async Task<(string Serial, long CrlNumber, DateTimeOffset RevokedAt)?> RevokeAsync(string deviceId, Guid retirementId, CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            var serial = await connection.QuerySingleOrDefaultAsync<string>(
                "SELECT identity_serial FROM devices WHERE device_id = @DeviceId;", new { DeviceId = deviceId }, transaction);
            if (serial is null)
                return null;

            var existing = await connection.QuerySingleOrDefaultAsync<(long CrlNumber, string RevokedAt)?>(
                "SELECT crl_number AS CrlNumber, revoked_at AS RevokedAt FROM revocations WHERE serial = @Serial;", new { Serial = serial }, transaction);
            if (existing is { } done)
                return (serial, done.CrlNumber, DateTimeOffset.Parse(done.RevokedAt, System.Globalization.CultureInfo.InvariantCulture));

            var now = clock.GetUtcNow();
            var number = await connection.ExecuteScalarAsync<long>("SELECT COALESCE(MAX(number), 0) + 1 FROM crls;", transaction: transaction);
            await connection.ExecuteAsync("""
                INSERT INTO revocations (serial, device_id, retirement_id, revoked_at, crl_number)
                VALUES (@Serial, @DeviceId, @RetirementId, @RevokedAt, @Number);
                """, new { Serial = serial, DeviceId = deviceId, RetirementId = retirementId.ToString(), RevokedAt = now.ToString("O"), Number = number }, transaction);

            var der = await IssueCrlAsync(connection, transaction, number, now);
            transaction.Commit();

            // Another process may have issued a newer one meanwhile: the file always gets the newest.
            await WriteFileAsync(await LatestAsync(cancellationToken) ?? der, cancellationToken);
            return (serial, number, now);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>Issues an empty CRL number 1 when there is none yet, so relying parties can fetch one from the start.</summary>
    public async Task EnsureCrlAsync(CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var transaction = connection.BeginTransaction(deferred: false);
            var der = await connection.QuerySingleOrDefaultAsync<byte[]>("SELECT der FROM crls ORDER BY number DESC LIMIT 1;", transaction: transaction)
                ?? await IssueCrlAsync(connection, transaction, 1, clock.GetUtcNow());
            transaction.Commit();
            await WriteFileAsync(der, cancellationToken);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<byte[]> IssueCrlAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, long number, DateTimeOffset now)
    {
        var revoked = (await connection.QueryAsync<(string Serial, string RevokedAt)>(
                "SELECT serial AS Serial, revoked_at AS RevokedAt FROM revocations;", transaction: transaction))
            .Select(r => (r.Serial, DateTimeOffset.Parse(r.RevokedAt, System.Globalization.CultureInfo.InvariantCulture)));
        var der = ca.BuildCrl(revoked, number, now);
        await connection.ExecuteAsync("INSERT INTO crls (number, issued_at, der) VALUES (@Number, @IssuedAt, @Der);",
            new { Number = number, IssuedAt = now.ToString("O"), Der = der }, transaction);
        return der;
    }

    /// <summary>The newest CRL (DER).</summary>
    public async Task<byte[]?> LatestAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<byte[]>("SELECT der FROM crls ORDER BY number DESC LIMIT 1;");
    }

    private async Task WriteFileAsync(byte[] der, CancellationToken cancellationToken)
    {
        // Write then rename, so a reader never sees half a CRL.
        Directory.CreateDirectory(Path.GetDirectoryName(CrlPath)!);
        var temporary = CrlPath + ".tmp";
        await File.WriteAllBytesAsync(temporary, der, cancellationToken);
        File.Move(temporary, CrlPath, overwrite: true);
    }
}
