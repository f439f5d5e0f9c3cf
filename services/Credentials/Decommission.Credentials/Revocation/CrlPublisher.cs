using Dapper;
using Decommission.Sqlite;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// Revokes identity certificates. Revocations issue a new CRL, numbered one above the last, that lists every
/// revocation so far: CRLs are built one at a time inside the write transaction, so no CRL can drop an earlier entry.
/// Revocations that arrive while a CRL is being issued, or while the next one waits (CrlSpacing), share it (group
/// commit): a fleet retired at once costs one CRL per batch, not one per device, each listing the fleet so far.
/// </summary>
public sealed class CrlPublisher
{
    private readonly CredentialsDatabase _database;
    private readonly FleetCertificateAuthority _ca;
    private readonly IOptions<CredentialsOptions> _options;
    private readonly TimeProvider _clock;
    private readonly Batcher<PendingRevocation, Revoked?> _revocations;
    private readonly SemaphoreSlim _publishing = new(1, 1);

    public CrlPublisher(CredentialsDatabase database, FleetCertificateAuthority ca, IOptions<CredentialsOptions> options, TimeProvider clock)
    {
        _database = database;
        _ca = ca;
        _options = options;
        _clock = clock;
        // Pacing: the next CRL waits CrlSpacing times as long as the last one took, gathering the revocations that arrive
        // meanwhile. A small CRL (a quiet system) makes for a short wait; a fleet's, for larger batches.
        _revocations = new(RevokeBatchAsync, lastCost => lastCost * options.Value.CrlSpacing);
    }

    public string CrlPath => Path.Combine(_options.Value.DataDirectory, "crl", "fleet.crl");

    /// <summary>Revokes the device's identity for the retirement; a repeat answers the existing revocation. Null for an unknown device.</summary>
    public async Task<(string Serial, long CrlNumber, DateTimeOffset RevokedAt)?> RevokeAsync(string deviceId, Guid retirementId, CancellationToken cancellationToken) =>
        await _revocations.SubmitAsync(new PendingRevocation(deviceId, retirementId), cancellationToken) is { } done
            ? (done.Serial, done.CrlNumber, done.RevokedAt)
            : null;

    private async Task RevokeBatchAsync(IReadOnlyList<BatchItem<PendingRevocation, Revoked?>> batch)
    {
        var results = new List<(BatchItem<PendingRevocation, Revoked?> Request, Revoked? Result)>();
        // One write of the file's group commit (which the quarantine shares): every revocation of the batch and its CRL.
        // If it throws, nothing of the batch was committed: every request fails (the batcher fails them), and its message is retried.
        var der = await _database.Writes.WriteAsync(async (connection, transaction) =>
        {
            var now = _clock.GetUtcNow();
            long? number = null;
            foreach (var item in batch)
            {
                var request = item.Request;
                var serial = await connection.QuerySingleOrDefaultAsync<string>(
                    "SELECT identity_serial FROM devices WHERE device_id = @DeviceId;", new { request.DeviceId }, transaction);
                if (serial is null)
                {
                    results.Add((item, null));
                    continue;
                }
                // A repeat (also one earlier in this batch) answers the existing revocation.
                var existing = await connection.QuerySingleOrDefaultAsync<(long CrlNumber, string RevokedAt)?>(
                    "SELECT crl_number AS CrlNumber, revoked_at AS RevokedAt FROM revocations WHERE serial = @Serial;", new { Serial = serial }, transaction);
                if (existing is { } done)
                {
                    results.Add((item, new Revoked(serial, done.CrlNumber, DateTimeOffset.Parse(done.RevokedAt, System.Globalization.CultureInfo.InvariantCulture))));
                    continue;
                }
                number ??= await connection.ExecuteScalarAsync<long>("SELECT COALESCE(MAX(number), 0) + 1 FROM crls;", transaction: transaction);
                await connection.ExecuteAsync("""
                    INSERT INTO revocations (serial, device_id, retirement_id, revoked_at, crl_number)
                    VALUES (@Serial, @DeviceId, @RetirementId, @RevokedAt, @Number);
                    """, new { Serial = serial, request.DeviceId, RetirementId = request.RetirementId.ToString(), RevokedAt = now.ToString("O"), Number = number },
                    transaction);
                results.Add((item, new Revoked(serial, number.Value, now)));
            }

            return number is { } issued ? await IssueCrlAsync(connection, transaction, issued, now) : null;
        });
        if (der is not null)
            await PublishNewestAsync(der, CancellationToken.None);
        foreach (var (request, result) in results)
            request.Complete(result);
    }

    private sealed record PendingRevocation(string DeviceId, Guid RetirementId);

    private sealed record Revoked(string Serial, long CrlNumber, DateTimeOffset RevokedAt);

    /// <summary>Issues an empty CRL number 1 when there is none yet, so relying parties can fetch one from the start.</summary>
    public async Task EnsureCrlAsync(CancellationToken cancellationToken)
    {
        var der = await _database.Writes.WriteAsync(async (connection, transaction) =>
            await connection.QuerySingleOrDefaultAsync<byte[]>("SELECT der FROM crls ORDER BY number DESC LIMIT 1;", transaction: transaction)
            ?? await IssueCrlAsync(connection, transaction, 1, _clock.GetUtcNow()));
        await PublishNewestAsync(der, cancellationToken);
    }

    private async Task<byte[]> IssueCrlAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, long number, DateTimeOffset now)
    {
        var revoked = (await connection.QueryAsync<(string Serial, string RevokedAt)>(
                "SELECT serial AS Serial, revoked_at AS RevokedAt FROM revocations;", transaction: transaction))
            .Select(r => (r.Serial, DateTimeOffset.Parse(r.RevokedAt, System.Globalization.CultureInfo.InvariantCulture)));
        var der = _ca.BuildCrl(revoked, number, now);
        await connection.ExecuteAsync("INSERT INTO crls (number, issued_at, der) VALUES (@Number, @IssuedAt, @Der);",
            new { Number = number, IssuedAt = now.ToString("O"), Der = der }, transaction);
        return der;
    }

    /// <summary>The newest CRL (DER).</summary>
    public async Task<byte[]?> LatestAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<byte[]>("SELECT der FROM crls ORDER BY number DESC LIMIT 1;");
    }

    /// <summary>
    /// Writes the newest committed CRL to the file: another process, or the start-up CRL, may have issued a newer one than
    /// <paramref name="issued"/> meanwhile. One writer at a time, each reading the newest, so the file never goes back.
    /// </summary>
    private async Task PublishNewestAsync(byte[] issued, CancellationToken cancellationToken)
    {
        await _publishing.WaitAsync(cancellationToken);
        try
        {
            var der = await LatestAsync(cancellationToken) ?? issued;
            // Write then rename, so a reader never sees half a CRL.
            Directory.CreateDirectory(Path.GetDirectoryName(CrlPath)!);
            var temporary = CrlPath + ".tmp";
            await File.WriteAllBytesAsync(temporary, der, cancellationToken);
            File.Move(temporary, CrlPath, overwrite: true);
        }
        finally
        {
            _publishing.Release();
        }
    }
}
