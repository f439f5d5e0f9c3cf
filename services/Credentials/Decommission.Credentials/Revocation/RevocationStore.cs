using System.Data.Common;
using System.Globalization;
using Dapper;

namespace Decommission.Credentials.Revocation;

/// <summary>An identity certificate's revocation: its serial, the CRL that first listed it, when.</summary>
public sealed record RevokedIdentity(string Serial, long CrlNumber, DateTimeOffset RevokedAt);

/// <summary>
/// The revocations and crls tables: which identity certificates are revoked, under which CRL, and every CRL issued.
/// Writes run inside the caller's transaction (the file's group commit), so a batch's revocations and its CRL commit together.
/// </summary>
public sealed class RevocationStore(CredentialsDatabase database)
{
    public async Task<RevokedIdentity?> FindAsync(DbConnection connection, DbTransaction transaction, string serial)
    {
        var row = await connection.QuerySingleOrDefaultAsync<(long CrlNumber, string RevokedAt)?>(
            "SELECT crl_number AS CrlNumber, revoked_at AS RevokedAt FROM revocations WHERE serial = @Serial;", new { Serial = serial }, transaction);
        return row is { } found ? new RevokedIdentity(serial, found.CrlNumber, ParseTime(found.RevokedAt)) : null;
    }

    public Task AddAsync(DbConnection connection, DbTransaction transaction, RevokedIdentity revoked, string deviceId, Guid retirementId) =>
        connection.ExecuteAsync("""
            INSERT INTO revocations (serial, device_id, retirement_id, revoked_at, crl_number)
            VALUES (@Serial, @DeviceId, @RetirementId, @RevokedAt, @CrlNumber);
            """, new { revoked.Serial, DeviceId = deviceId, RetirementId = retirementId.ToString(), RevokedAt = revoked.RevokedAt.ToString("O"), revoked.CrlNumber },
            transaction);

    /// <summary>
    /// Which of the devices are retired, with the revocation of their identity: a retired device id never enrolls again,
    /// whatever becomes of its enrollment row.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, RevokedIdentity>> RetiredAsync(IEnumerable<string> deviceIds, CancellationToken cancellationToken)
    {
        var retired = new Dictionary<string, RevokedIdentity>(StringComparer.Ordinal);
        await using var connection = await database.OpenAsync(cancellationToken);
        foreach (var deviceId in deviceIds)
        {
            var row = await connection.QueryFirstOrDefaultAsync<(string Serial, long CrlNumber, string RevokedAt)?>(new CommandDefinition("""
                SELECT serial AS Serial, crl_number AS CrlNumber, revoked_at AS RevokedAt FROM revocations
                WHERE device_id = @DeviceId ORDER BY revoked_at LIMIT 1;
                """, new { DeviceId = deviceId }, cancellationToken: cancellationToken));
            if (row is { } found)
                retired[deviceId] = new RevokedIdentity(found.Serial, found.CrlNumber, ParseTime(found.RevokedAt));
        }
        return retired;
    }

    /// <summary>Every revocation so far: what the next CRL lists.</summary>
    public async Task<IReadOnlyList<(string Serial, DateTimeOffset RevokedAt)>> AllAsync(DbConnection connection, DbTransaction transaction) =>
        [.. (await connection.QueryAsync<(string Serial, string RevokedAt)>("SELECT serial AS Serial, revoked_at AS RevokedAt FROM revocations;", transaction: transaction))
            .Select(r => (r.Serial, ParseTime(r.RevokedAt)))];

    /// <summary>
    /// Makes the caller's transaction the only CRL issuer until it ends: replicas sharing a PostgreSQL schema take turns, so
    /// CRL numbers strictly increase and each CRL lists every revocation committed before it (a transaction that waited here
    /// reads the winner's rows once it commits: READ COMMITTED reads afresh per statement). Taken before any revocation is
    /// read, so a repeat on another replica finds the first one. SQLite: the write transaction already holds the file's lock.
    /// </summary>
    public async Task LockCrlIssuerAsync(DbConnection connection, DbTransaction transaction)
    {
        if (database.Dialect == Decommission.Storage.SqlDialect.Postgres)
            // Per schema: other deployments (or tests) in the same database issue their own CRLs. Released at commit or rollback.
            await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('decommission.credentials.crl.' || current_schema()));", transaction: transaction);
    }

    public Task<long> NextCrlNumberAsync(DbConnection connection, DbTransaction transaction) =>
        connection.ExecuteScalarAsync<long>("SELECT COALESCE(MAX(number), 0) + 1 FROM crls;", transaction: transaction);

    public Task AddCrlAsync(DbConnection connection, DbTransaction transaction, long number, DateTimeOffset issuedAt, byte[] der) =>
        connection.ExecuteAsync("INSERT INTO crls (number, issued_at, der) VALUES (@Number, @IssuedAt, @Der);",
            new { Number = number, IssuedAt = issuedAt.ToString("O"), Der = der }, transaction);

    /// <summary>When the newest CRL was issued (its thisUpdate); null before the first.</summary>
    public async Task<DateTimeOffset?> LatestCrlIssuedAtAsync(DbConnection connection, DbTransaction transaction) =>
        await connection.QuerySingleOrDefaultAsync<string?>("SELECT issued_at FROM crls ORDER BY number DESC LIMIT 1;", transaction: transaction) is { } issuedAt
            ? ParseTime(issuedAt)
            : null;

    public Task<byte[]?> LatestCrlAsync(DbConnection connection, DbTransaction transaction) =>
        connection.QuerySingleOrDefaultAsync<byte[]?>("SELECT der FROM crls ORDER BY number DESC LIMIT 1;", transaction: transaction);

    /// <summary>The newest CRL (DER), read outside any write.</summary>
    public async Task<byte[]?> LatestCrlAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<byte[]?>(new CommandDefinition("SELECT der FROM crls ORDER BY number DESC LIMIT 1;", cancellationToken: cancellationToken));
    }

    /// <summary>The newest CRL's number and DER, the DER only when its number is not <paramref name="known"/>; null before the first.</summary>
    public async Task<(long Number, byte[]? Der)?> LatestCrlUnlessAsync(long known, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        if (await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition("SELECT MAX(number) FROM crls;", cancellationToken: cancellationToken)) is not { } number)
            return null;
        return number == known
            ? (number, null)
            : (number, await connection.QuerySingleAsync<byte[]>(new CommandDefinition("SELECT der FROM crls WHERE number = @Number;", new { Number = number }, cancellationToken: cancellationToken)));
    }

    private static DateTimeOffset ParseTime(string value) => DateTimeOffset.Parse(value, CultureInfo.InvariantCulture);
}
