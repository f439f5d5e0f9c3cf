using System.Data.Common;
using Dapper;

namespace Decommission.Certificates.Issuing;

/// <summary>
/// The issued certificates' metadata (table certificates): one row per retirement, and an erase command certified by one
/// retirement only. Where the PDF and its JSON twin are kept is the <see cref="CertificateArchive"/>'s business (on SQLite the
/// row names their files).
/// </summary>
public sealed class CertificateStore(CertificatesDatabase database)
{
    private const string Columns = """
        seq AS Seq, certificate_id AS CertificateId, retirement_id AS RetirementId, device_id AS DeviceId, sanitization_type AS SanitizationType,
        issued_at AS IssuedAt, pdf_sha256 AS PdfSha256
        """;

    public Task<CertificateRecord?> FindByRetirementAsync(Guid retirementId, CancellationToken cancellationToken) =>
        FirstAsync("retirement_id = @Key", retirementId.ToString(), cancellationToken);

    public Task<CertificateRecord?> FindAsync(string certificateId, CancellationToken cancellationToken) =>
        FirstAsync("certificate_id = @Key", certificateId, cancellationToken);

    public Task<CertificateRecord?> FindByPdfSha256Async(string sha256, CancellationToken cancellationToken) =>
        FirstAsync("pdf_sha256 = @Key", sha256, cancellationToken);

    /// <summary>A page of certificates after the cursor, oldest first, filtered by device, issue time and sanitization type.</summary>
    public async Task<IReadOnlyList<CertificateRecord>> PageAsync(string? deviceId, DateTimeOffset? from, DateTimeOffset? to, string? sanitizationType,
        long after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>($"""
            SELECT {Columns} FROM certificates
            WHERE seq > @After
              AND (@DeviceId IS NULL OR device_id = @DeviceId)
              AND (@FromMs IS NULL OR issued_at_ms >= @FromMs)
              AND (@ToMs IS NULL OR issued_at_ms < @ToMs)
              AND (@Type IS NULL OR sanitization_type = @Type)
            ORDER BY seq LIMIT @Limit;
            """, new { After = after, DeviceId = deviceId, FromMs = from?.ToUnixTimeMilliseconds(), ToMs = to?.ToUnixTimeMilliseconds(), Type = sanitizationType, Limit = limit });
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>The certificate of another retirement that already rests on this erase command, or null.</summary>
    public async Task<string?> CertifiedElsewhereAsync(string commandId, Guid retirementId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string?>(
            "SELECT certificate_id FROM certificates WHERE erase_command_id = @CommandId AND retirement_id <> @RetirementId;",
            new { CommandId = commandId, RetirementId = retirementId.ToString() });
    }

    /// <summary>Records an issued certificate; false when the retirement already has one or another retirement certified the erase command.</summary>
    public async Task<bool> AddAsync(IssuedCertificate certificate) =>
        await database.Writes.WriteAsync((connection, transaction) => InsertAsync(connection, transaction, certificate));

    /// <summary>Records an issued certificate in <paramref name="transaction"/>; false when the retirement already has one or another
    /// retirement certified the erase command (a unique index: on PostgreSQL it waits for a competing insert's transaction).</summary>
    public static async Task<bool> InsertAsync(DbConnection connection, DbTransaction transaction, IssuedCertificate certificate) =>
        await connection.ExecuteAsync("""
            INSERT INTO certificates
                (certificate_id, retirement_id, device_id, sanitization_type, issued_at, issued_at_ms, pdf_sha256, pdf_path, json_path, erase_command_id)
            VALUES (@CertificateId, @RetirementId, @DeviceId, @SanitizationType, @IssuedAt, @IssuedAtMs, @Sha256, @PdfPath, @JsonPath, @CommandId)
            ON CONFLICT DO NOTHING;
            """, new
        {
            certificate.CertificateId, RetirementId = certificate.RetirementId.ToString(), certificate.DeviceId, certificate.SanitizationType,
            IssuedAt = certificate.IssuedAt.ToString("O"), IssuedAtMs = certificate.IssuedAt.ToUnixTimeMilliseconds(), Sha256 = certificate.PdfSha256,
            certificate.PdfPath, certificate.JsonPath, CommandId = certificate.EraseCommandId,
        }, transaction) > 0;

    /// <summary>Forgets the retirement's certificate row (its files are gone, so it is issued again).</summary>
    public Task DeleteAsync(Guid retirementId) =>
        database.Writes.WriteAsync((connection, transaction) =>
            connection.ExecuteAsync("DELETE FROM certificates WHERE retirement_id = @Id;", new { Id = retirementId.ToString() }, transaction));

    /// <summary>The file names (not paths) of every certificate's PDF and JSON (SQLite): the files that must stay.</summary>
    public async Task<IReadOnlyList<string>> FileNamesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string PdfPath, string JsonPath)>("SELECT pdf_path, json_path FROM certificates WHERE pdf_path IS NOT NULL;");
        return rows.SelectMany(r => new[] { Path.GetFileName(r.PdfPath), Path.GetFileName(r.JsonPath) }).ToList();
    }

    private async Task<CertificateRecord?> FirstAsync(string where, string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM certificates WHERE {where} LIMIT 1;", new { Key = key });
        return row?.ToRecord();
    }

    private sealed record Row(long Seq, string CertificateId, string RetirementId, string DeviceId, string SanitizationType, string IssuedAt,
        string PdfSha256)
    {
        public CertificateRecord ToRecord() => new(Seq, CertificateId, Guid.Parse(RetirementId), DeviceId, SanitizationType,
            DateTimeOffset.Parse(IssuedAt, System.Globalization.CultureInfo.InvariantCulture), PdfSha256);
    }
}

/// <summary>A certificate to record: the PDF's SHA-256, for a Purge the erase command it certifies, and on SQLite its files.</summary>
public sealed record IssuedCertificate(string CertificateId, Guid RetirementId, string DeviceId, string SanitizationType, DateTimeOffset IssuedAt,
    string PdfSha256, string? PdfPath, string? JsonPath, string? EraseCommandId);
