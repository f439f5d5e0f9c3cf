using System.Data.Common;
using Dapper;
using Decommission.Storage;

namespace Decommission.Certificates.Issuing;

/// <summary>
/// PostgreSQL (replicas share the database): a certificate's PDF and JSON are rows of certificate_documents, written in the
/// certificate row's transaction, so a certificate appears whole and at once, and every replica serves it; there are no files
/// and nothing to clean up. An issue holds a transaction-scoped advisory lock on its retirement (pg_advisory_xact_lock) from
/// before it looks for the certificate until it commits: two replicas never both render and sign one retirement's
/// certificate, and the one that waited finds the certificate the other committed. Rows are also committed in the order of
/// their paging cursor (seq), so an auditor paging while replicas issue never skips one (<see cref="WriteAsync"/>).
/// </summary>
public sealed class DatabaseCertificateArchive(CertificatesDatabase database, CertificateStore certificates) : CertificateArchive
{
    public override Task<IReadOnlyList<string>> RecoverAsync() => Task.FromResult<IReadOnlyList<string>>([]);

    // Whole or absent: the row and its documents commit together.
    public override Task<CertificateRecord?> FindIssuedAsync(Guid retirementId, CancellationToken cancellationToken) =>
        certificates.FindByRetirementAsync(retirementId, cancellationToken);

    public override async Task<IssueLease> BeginIssueAsync(Guid retirementId, CancellationToken cancellationToken)
    {
        var connection = await database.OpenAsync(cancellationToken);
        try
        {
            var transaction = await ServiceDatabase.BeginWriteAsync(connection, cancellationToken);
            // Two keys: this schema's issue locks, then the retirement (a hash: a collision only makes two issues wait for each other).
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtext(@Locks), hashtext(@RetirementId));",
                new { Locks = $"decommission.{database.Location.Schema}.issue", RetirementId = retirementId.ToString() }, transaction,
                cancellationToken: cancellationToken));
            return new Lease(connection, transaction, database.Location.Schema!);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public override Task<byte[]> ReadPdfAsync(CertificateRecord certificate, CancellationToken cancellationToken) =>
        ReadAsync("pdf_bytes", certificate.CertificateId, cancellationToken);

    public override Task<byte[]> ReadJsonAsync(CertificateRecord certificate, CancellationToken cancellationToken) =>
        ReadAsync("json_bytes", certificate.CertificateId, cancellationToken);

    private async Task<byte[]> ReadAsync(string column, string certificateId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<byte[]>(new CommandDefinition(
                $"SELECT {column} FROM certificate_documents WHERE certificate_id = @CertificateId;", new { CertificateId = certificateId },
                cancellationToken: cancellationToken))
            ?? throw new InvalidOperationException($"Certificate {certificateId} has no documents in the database.");
    }

    /// <summary>
    /// Writes a certificate's row and bytes in <paramref name="transaction"/> (false, nothing written, when the retirement or the erase
    /// command has a certificate already). From its insert until the transaction ends it holds the schema's listing lock: a
    /// row's seq is drawn when it is inserted, so without it a row could commit after one with a higher seq that an auditor
    /// had already paged past. Costs one short critical section (insert, commit) per certificate across the replicas.
    /// </summary>
    public static async Task<bool> WriteAsync(DbConnection connection, DbTransaction transaction, string schema, IssuedCertificate certificate, byte[] pdf,
        byte[] json)
    {
        await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext(@Listing));", new { Listing = $"decommission.{schema}.listing" }, transaction);
        if (!await CertificateStore.InsertAsync(connection, transaction, certificate))
            return false;
        await connection.ExecuteAsync("""
            INSERT INTO certificate_documents (certificate_id, pdf_bytes, json_bytes) VALUES (@CertificateId, @Pdf, @Json);
            """, new { certificate.CertificateId, Pdf = pdf, Json = json }, transaction);
        return true;
    }

    private sealed class Lease(DbConnection connection, DbTransaction transaction, string schema) : IssueLease
    {
        public override async Task<bool> StoreAsync(IssuedCertificate certificate, byte[] pdf, byte[] json, Func<IssueStep, Task> reached,
            CancellationToken cancellationToken)
        {
            if (!await WriteAsync(connection, transaction, schema, certificate, pdf, json))
            {
                await transaction.RollbackAsync(CancellationToken.None);
                return false;
            }
            // Commits the row with its bytes and releases the retirement's lock.
            await transaction.CommitAsync(CancellationToken.None);
            return true;
        }

        public override async ValueTask DisposeAsync()
        {
            // Not committed (refused, failed): rolled back, and the lock released with it.
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
