using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Options;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// Revokes identity certificates. Revocations issue a new CRL, numbered one above the last, that lists every
/// revocation so far: CRLs are built one at a time inside the write transaction, so no CRL can drop an earlier entry.
/// Revocations that arrive while a CRL is being issued, or while the next one waits (CrlSpacing), share it (group
/// commit): a fleet retired at once costs one CRL per batch, not one per device, each listing the fleet so far.
/// </summary>
public sealed class CrlPublisher(CredentialsDatabase database, FleetCertificateAuthority ca, IOptions<CredentialsOptions> options, TimeProvider clock)
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly List<PendingRevocation> _waiting = [];
    private long _lastIssued;
    private TimeSpan _lastCost;

    public string CrlPath => Path.Combine(options.Value.DataDirectory, "crl", "fleet.crl");

    /// <summary>Revokes the device's identity for the retirement; a repeat answers the existing revocation. Null for an unknown device.</summary>
    public async Task<(string Serial, long CrlNumber, DateTimeOffset RevokedAt)?> RevokeAsync(string deviceId, Guid retirementId, CancellationToken cancellationToken)
    {
        var request = new PendingRevocation(deviceId, retirementId);
        lock (_waiting)
            _waiting.Add(request);
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            // Whoever holds the lock revokes everything waiting, this request included unless an earlier holder did.
            if (!request.Done.Task.IsCompleted)
            {
                // Pacing: the next CRL waits CrlSpacing times as long as the last one took, gathering the revocations that
                // arrive meanwhile. A small CRL (a quiet system) makes for a short wait; a fleet's, for larger batches.
                // (Elapsed time, not the service clock: this paces work, it is not a date on a CRL.)
                var wait = _lastCost * options.Value.CrlSpacing - Stopwatch.GetElapsedTime(_lastIssued);
                if (_lastIssued != 0 && wait > TimeSpan.Zero)
                    await Task.Delay(wait, cancellationToken);
                List<PendingRevocation> batch;
                lock (_waiting)
                {
                    batch = [.. _waiting];
                    _waiting.Clear();
                }
                var started = Stopwatch.GetTimestamp();
                await RevokeBatchAsync(batch, cancellationToken);
                _lastIssued = Stopwatch.GetTimestamp();
                _lastCost = Stopwatch.GetElapsedTime(started, _lastIssued);
            }
        }
        finally
        {
            _oneAtATime.Release();
        }
        return await request.Done.Task;
    }

    private async Task RevokeBatchAsync(List<PendingRevocation> batch, CancellationToken cancellationToken)
    {
        var results = new List<(PendingRevocation Request, (string, long, DateTimeOffset)? Result)>();
        try
        {
            // One write of the file's group commit (which the quarantine shares): every revocation of the batch and its CRL.
            var der = await database.Writes.WriteAsync(async (connection, transaction) =>
            {
                var now = clock.GetUtcNow();
                long? number = null;
                foreach (var request in batch)
                {
                    var serial = await connection.QuerySingleOrDefaultAsync<string>(
                        "SELECT identity_serial FROM devices WHERE device_id = @DeviceId;", new { request.DeviceId }, transaction);
                    if (serial is null)
                    {
                        results.Add((request, null));
                        continue;
                    }
                    // A repeat (also one earlier in this batch) answers the existing revocation.
                    var existing = await connection.QuerySingleOrDefaultAsync<(long CrlNumber, string RevokedAt)?>(
                        "SELECT crl_number AS CrlNumber, revoked_at AS RevokedAt FROM revocations WHERE serial = @Serial;", new { Serial = serial }, transaction);
                    if (existing is { } done)
                    {
                        results.Add((request, (serial, done.CrlNumber, DateTimeOffset.Parse(done.RevokedAt, System.Globalization.CultureInfo.InvariantCulture))));
                        continue;
                    }
                    number ??= await connection.ExecuteScalarAsync<long>("SELECT COALESCE(MAX(number), 0) + 1 FROM crls;", transaction: transaction);
                    await connection.ExecuteAsync("""
                        INSERT INTO revocations (serial, device_id, retirement_id, revoked_at, crl_number)
                        VALUES (@Serial, @DeviceId, @RetirementId, @RevokedAt, @Number);
                        """, new { Serial = serial, request.DeviceId, RetirementId = request.RetirementId.ToString(), RevokedAt = now.ToString("O"), Number = number },
                        transaction);
                    results.Add((request, (serial, number.Value, now)));
                }

                return number is { } issued ? await IssueCrlAsync(connection, transaction, issued, now) : null;
            });
            // Another process may have issued a newer one meanwhile: the file always gets the newest.
            if (der is not null)
                await WriteFileAsync(await LatestAsync(cancellationToken) ?? der, cancellationToken);
        }
        catch (Exception e)
        {
            // Nothing of the batch was committed: every request fails, and its message is retried.
            foreach (var request in batch)
                request.Done.TrySetException(e);
            return;
        }
        foreach (var (request, result) in results)
            request.Done.TrySetResult(result);
    }

    private sealed record PendingRevocation(string DeviceId, Guid RetirementId)
    {
        public TaskCompletionSource<(string Serial, long CrlNumber, DateTimeOffset RevokedAt)?> Done { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Issues an empty CRL number 1 when there is none yet, so relying parties can fetch one from the start.</summary>
    public async Task EnsureCrlAsync(CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            var der = await database.Writes.WriteAsync(async (connection, transaction) =>
                await connection.QuerySingleOrDefaultAsync<byte[]>("SELECT der FROM crls ORDER BY number DESC LIMIT 1;", transaction: transaction)
                ?? await IssueCrlAsync(connection, transaction, 1, clock.GetUtcNow()));
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
