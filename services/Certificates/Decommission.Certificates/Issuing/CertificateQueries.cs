using System.Data.Common;
using Dapper;

namespace Decommission.Certificates.Issuing;

/// <summary>Reads of stored certificate metadata.</summary>
public static class CertificateQueries
{
    private const string Columns = """
        seq AS Seq, certificate_id AS CertificateId, retirement_id AS RetirementId, device_id AS DeviceId, sanitization_type AS SanitizationType,
        issued_at AS IssuedAt, pdf_sha256 AS PdfSha256, pdf_path AS PdfPath, json_path AS JsonPath
        """;

    public static async Task<CertificateRecord?> FirstAsync(DbConnection connection, string where, object key)
    {
        var row = await connection.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM certificates WHERE {where} LIMIT 1;", new { Key = key });
        return row?.ToRecord();
    }

    /// <summary>A page of certificates after the cursor, oldest first, filtered by device, issue time and sanitization type.</summary>
    public static async Task<IReadOnlyList<CertificateRecord>> PageAsync(DbConnection connection, string? deviceId, DateTimeOffset? from, DateTimeOffset? to,
        string? sanitizationType, long after, int limit)
    {
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

    private sealed record Row(long Seq, string CertificateId, string RetirementId, string DeviceId, string SanitizationType, string IssuedAt,
        string PdfSha256, string PdfPath, string JsonPath)
    {
        public CertificateRecord ToRecord() => new(Seq, CertificateId, Guid.Parse(RetirementId), DeviceId, SanitizationType,
            DateTimeOffset.Parse(IssuedAt, System.Globalization.CultureInfo.InvariantCulture), PdfSha256, PdfPath, JsonPath);
    }
}
