using Dapper;
using Decommission.Storage;

namespace Decommission.Credentials;

/// <summary>
/// The credentials service's own database. On SQLite, secure_delete is on (a destroyed hash is zeroed, not just unlinked)
/// and the WAL is truncated after a destruction; on PostgreSQL the table is vacuumed after one (see <see cref="ScrubDestroyedHashesAsync"/>).
/// </summary>
public sealed class CredentialsDatabase : ServiceDatabase
{
    private readonly Batcher<bool, bool> _vacuums;

    public CredentialsDatabase(DatabaseLocation location) : base(location, typeof(CredentialsDatabase).Assembly) =>
        _vacuums = new Batcher<bool, bool>(VacuumCredentialsAsync);

    // Revoking a secret destroys its hash: no copy may stay in free pages or the WAL.
    protected override bool SecureDelete => true;

    /// <summary>
    /// After secrets' hashes were destroyed (committed): removes the copies the engine still keeps. Calls that arrive while
    /// one runs share the next run.
    /// <para>SQLite: secure_delete zeroed them in the file; the WAL's copies go with a checkpoint that truncates it.</para>
    /// <para>
    /// PostgreSQL: an UPDATE leaves the old row version (with the hash) in the table as a dead tuple until VACUUM; the role
    /// owns the table, so it vacuums it here (outside any transaction, as VACUUM must run). Measured on PostgreSQL 15 (heap
    /// file read after CHECKPOINT): the dead version's bytes are gone after this VACUUM when compaction moves the page's
    /// later tuples over them, but NOT when the dead version was the lowest tuple of its page (the row's new version went to
    /// another page): its bytes then stay in the page's free space until a new row overwrites them. VACUUM also cannot
    /// remove a version an older snapshot (any open transaction of the cluster) may still see. Out of any role's reach: the
    /// server's WAL (each change is logged with the old and new data, kept until recycled — and recycled segments are not
    /// zeroed), WAL archives, standbys and backups. A deployment that keeps hashes there relies on the server's disk
    /// encryption and destroys its backups on its own schedule. The hashes are salted PBKDF2 of
    /// 256-bit random secrets: a copy left behind does not give a secret back.
    /// </para>
    /// </summary>
    public Task ScrubDestroyedHashesAsync(CancellationToken cancellationToken = default) =>
        Dialect == SqlDialect.Sqlite ? TruncateWalAsync(cancellationToken) : _vacuums.SubmitAsync(true, cancellationToken);

    // Every call of a batch is served by one VACUUM begun after it was made; if it throws, the batcher fails them all.
    private async Task VacuumCredentialsAsync(IReadOnlyList<BatchItem<bool, bool>> calls)
    {
        await using var connection = await OpenAsync();
        // INDEX_CLEANUP OFF: the hashes are in no index; pruning the heap is what removes them, and scanning every index
        // of a fleet-sized table per batch would not be cheap (autovacuum cleans the indexes later).
        await connection.ExecuteAsync("VACUUM (INDEX_CLEANUP OFF) credentials;", commandTimeout: 300);
        foreach (var call in calls)
            call.Complete(true);
    }
}
