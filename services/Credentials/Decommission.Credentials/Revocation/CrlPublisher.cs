using System.Data.Common;
using System.Security.Cryptography.X509Certificates;
using Decommission.Credentials.Enrollment;
using Decommission.Storage;
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
    private readonly RevocationStore _store;
    private readonly IOptions<CredentialsOptions> _options;
    private readonly TimeProvider _clock;
    private readonly Batcher<PendingRevocation, RevokedIdentity?> _revocations;
    private readonly SemaphoreSlim _publishing = new(1, 1);
    private long _fileNumber; // the number of the CRL this process last wrote to the file (0: none yet)

    public CrlPublisher(CredentialsDatabase database, FleetCertificateAuthority ca, RevocationStore store, IOptions<CredentialsOptions> options, TimeProvider clock)
    {
        _database = database;
        _ca = ca;
        _store = store;
        _options = options;
        _clock = clock;
        // Pacing: the next CRL waits CrlSpacing times as long as the last one took, gathering the revocations that arrive
        // meanwhile. A small CRL (a quiet system) makes for a short wait; a fleet's, for larger batches.
        _revocations = new(RevokeBatchAsync, lastCost => lastCost * options.Value.CrlSpacing);
    }

    /// <summary>How long a revocation that arrived now would wait for the pacing before its CRL is issued.</summary>
    public TimeSpan PacingRemaining => _revocations.PauseRemaining;

    /// <summary>How long the last CRL waited for the pacing.</summary>
    public TimeSpan LastPacing => _revocations.LastPause;

    public string CrlPath => Path.Combine(_options.Value.DataDirectory, "crl", "fleet.crl");

    /// <summary>Revokes the device's identity for the retirement; a repeat answers the existing revocation. Null for an unknown device.</summary>
    public async Task<(string Serial, long CrlNumber, DateTimeOffset RevokedAt)?> RevokeAsync(string deviceId, Guid retirementId, CancellationToken cancellationToken) =>
        await _revocations.SubmitAsync(new PendingRevocation(deviceId, retirementId), cancellationToken) is { } done
            ? (done.Serial, done.CrlNumber, done.RevokedAt)
            : null;

    private async Task RevokeBatchAsync(IReadOnlyList<BatchItem<PendingRevocation, RevokedIdentity?>> batch)
    {
        var results = new List<(BatchItem<PendingRevocation, RevokedIdentity?> Request, RevokedIdentity? Result)>();
        // One write of the file's group commit (which the quarantine shares): every revocation of the batch and its CRL.
        // If it throws, nothing of the batch was committed: every request fails (the batcher fails them), and its message is retried.
        var der = await _database.Writes.WriteAsync(async (connection, transaction) =>
        {
            // One CRL issuer at a time across replicas, from before the first read to the commit.
            await _store.LockCrlIssuerAsync(connection, transaction);
            var now = _clock.GetUtcNow();
            long? number = null;
            foreach (var item in batch)
            {
                var request = item.Request;
                // The device's identity certificate (devices is enrollment's table), read in the same transaction.
                var serial = await EnrolledDeviceStore.IdentitySerialAsync(connection, transaction, request.DeviceId);
                if (serial is null)
                {
                    results.Add((item, null));
                    continue;
                }
                // A repeat (also one earlier in this batch) answers the existing revocation.
                if (await _store.FindAsync(connection, transaction, serial) is { } existing)
                {
                    results.Add((item, existing));
                    continue;
                }
                number ??= await _store.NextCrlNumberAsync(connection, transaction);
                var revoked = new RevokedIdentity(serial, number.Value, now);
                await _store.AddAsync(connection, transaction, revoked, request.DeviceId, request.RetirementId);
                results.Add((item, revoked));
            }

            return number is { } issued ? await IssueCrlAsync(connection, transaction, issued, now) : null;
        });
        if (der is not null)
            await PublishNewestAsync(der, CancellationToken.None);
        foreach (var (request, result) in results)
            request.Complete(result);
    }

    private sealed record PendingRevocation(string DeviceId, Guid RetirementId);

    /// <summary>
    /// Issues an empty CRL number 1 when there is none yet, so relying parties can fetch one from the start; and a new one
    /// (the same entries, the next number) once the newest has used half its validity, so that no relying party ever holds
    /// an expired CRL: a broker that checks device certificates against it refuses every device when it has none current;
    /// and a new one when the newest was signed under another CA (a new CA over the same data directory).
    /// Called at start and by <see cref="CrlRefresher"/>; the file always gets the newest.
    /// </summary>
    public async Task EnsureFreshCrlAsync(CancellationToken cancellationToken)
    {
        var der = await _database.Writes.WriteAsync(async (connection, transaction) =>
        {
            await _store.LockCrlIssuerAsync(connection, transaction);
            var now = _clock.GetUtcNow();
            if (await _store.LatestCrlIssuedAtAsync(connection, transaction) is not { } issuedAt)
                return await IssueCrlAsync(connection, transaction, 1, now);
            var latest = await _store.LatestCrlAsync(connection, transaction);
            return now - issuedAt >= _options.Value.CrlValidity / 2 || latest is null || !_ca.Signed(latest)
                ? await IssueCrlAsync(connection, transaction, await _store.NextCrlNumberAsync(connection, transaction), now)
                : latest;
        });
        await PublishNewestAsync(der!, cancellationToken);
    }

    // Inside the write transaction, so the CRL lists exactly the revocations committed with it and before it.
    private async Task<byte[]> IssueCrlAsync(DbConnection connection, DbTransaction transaction, long number, DateTimeOffset now)
    {
        var der = _ca.BuildCrl(await _store.AllAsync(connection, transaction), number, now);
        await _store.AddCrlAsync(connection, transaction, number, now, der);
        return der;
    }

    /// <summary>The newest CRL (DER).</summary>
    public Task<byte[]?> LatestAsync(CancellationToken cancellationToken) => _store.LatestCrlAsync(cancellationToken);

    /// <summary>
    /// Writes the newest committed CRL to the file (for the broker's CRL sync and the metrics on this machine): another
    /// replica or process may have issued a newer one than <paramref name="issued"/> meanwhile. One writer at a time, each
    /// reading the newest, so the file never goes back. Relying parties elsewhere read GET /crl, which every replica serves
    /// from the database.
    /// </summary>
    private async Task PublishNewestAsync(byte[] issued, CancellationToken cancellationToken)
    {
        CertificateRevocationListBuilder.Load(issued, out var number);
        await PublishNewestAsync((long)number, issued, cancellationToken);
    }

    /// <summary>Brings the file up to the newest CRL in the database, when another replica issued one since (<see cref="CrlRefresher"/>).</summary>
    public Task SyncFileAsync(CancellationToken cancellationToken) => PublishNewestAsync(0, null, cancellationToken);

    private async Task PublishNewestAsync(long issuedNumber, byte[]? issued, CancellationToken cancellationToken)
    {
        await _publishing.WaitAsync(cancellationToken);
        try
        {
            var (number, der) = await _store.LatestCrlUnlessAsync(_fileNumber, cancellationToken) ?? (issuedNumber, issued);
            if (der is null || number == _fileNumber)
                return;
            // Write then rename, so a reader never sees half a CRL.
            Directory.CreateDirectory(Path.GetDirectoryName(CrlPath)!);
            var temporary = CrlPath + ".tmp";
            await File.WriteAllBytesAsync(temporary, der, cancellationToken);
            File.Move(temporary, CrlPath, overwrite: true);
            _fileNumber = number;
        }
        finally
        {
            _publishing.Release();
        }
    }
}
