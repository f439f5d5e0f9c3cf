using System.Data.Common;
using System.Reflection;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Decommission.Storage;

/// <summary>
/// A service's own database, on either engine (<see cref="DatabaseLocation"/>): a SQLite file (WAL mode, a busy timeout)
/// or a schema of its own in PostgreSQL. The numbered schema scripts embedded in the service's assembly for that engine
/// (<c>Schema/Sqlite/0001_name.sql</c>, <c>Schema/Postgres/0001_name.sql</c>, …) are applied once each, in number order,
/// and recorded in <c>schema_version</c>; on PostgreSQL under an advisory lock, so replicas that start together apply
/// them once.
/// </summary>
public abstract class ServiceDatabase
{
    private readonly Assembly _schemaAssembly;
    private readonly Batcher<bool, bool> _walTruncations;
    private readonly NpgsqlDataSource? _postgres;

    protected ServiceDatabase(DatabaseLocation location, Assembly schemaAssembly)
    {
        Location = location;
        _schemaAssembly = schemaAssembly;
        if (location.Dialect == SqlDialect.Sqlite)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(location.Target));
            if (!string.IsNullOrEmpty(directory))
                Directory.CreateDirectory(directory);
            FilePath = location.Target;
            ConnectionString = new SqliteConnectionStringBuilder
            {
                DataSource = location.Target,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = true,
                DefaultTimeout = 30,
            }.ToString();
        }
        else
        {
            // Every connection sees the service's own schema first; its tables are named without a schema.
            var builder = new NpgsqlConnectionStringBuilder(location.Target) { SearchPath = location.Schema };
            ConnectionString = builder.ConnectionString;
            _postgres = NpgsqlDataSource.Create(builder);
        }
        Writes = new GroupCommit(this);
        _walTruncations = new Batcher<bool, bool>(TruncateWalBatchAsync);
    }

    public DatabaseLocation Location { get; }

    public SqlDialect Dialect => Location.Dialect;

    /// <summary>The SQLite file; null on PostgreSQL.</summary>
    public string? FilePath { get; }

    /// <summary>The database's group commit: writes that arrive together share a transaction.</summary>
    public GroupCommit Writes { get; }

    /// <summary>The connection string (on PostgreSQL it holds a password: never log it; <see cref="Location"/> prints safely).</summary>
    public string ConnectionString { get; }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (_postgres is not null)
            return await _postgres.OpenConnectionAsync(cancellationToken);

        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        // Writers from several consumers and processes wait for each other instead of failing with SQLITE_BUSY.
        // The settings belong to the native connection, which the pool hands out again: set them once per native connection.
        if (!Configured.TryGetValue(connection.Handle!, out _))
        {
            await connection.ExecuteAsync(SecureDelete
                ? "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;"
                : "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;");
            Configured.AddOrUpdate(connection.Handle!, true);
        }
        return connection;
    }

    /// <summary>
    /// A write transaction on <paramref name="connection"/> outside the group commit (a bulk import, a multi-step change):
    /// on SQLite it takes the file's write lock up front (BEGIN IMMEDIATE); on PostgreSQL it is READ COMMITTED, so what it
    /// reads and then changes must be locked (<c>FOR UPDATE</c>) or changed conditionally.
    /// </summary>
    public static async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken = default) =>
        connection is SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: false)
            : await connection.BeginTransactionAsync(cancellationToken);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();

    /// <summary>Deleted and overwritten content is zeroed in the file (SQLite secure_delete): for files that hold secrets' hashes.</summary>
    protected virtual bool SecureDelete => false;

    /// <summary>Whether <paramref name="error"/> is a unique or primary-key violation, on either engine.</summary>
    public static bool IsUniqueViolation(Exception error) => error switch
    {
        // SQLITE_CONSTRAINT_PRIMARYKEY (1555) and SQLITE_CONSTRAINT_UNIQUE (2067).
        SqliteException e => e.SqliteExtendedErrorCode is 1555 or 2067,
        PostgresException e => e.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };

    /// <summary>
    /// SQLite: copies the WAL into the database file and truncates it, so destroyed content (zeroed by secure_delete)
    /// leaves no copy in the log. Calls that arrive while one runs are served by one more run after it. PostgreSQL: the
    /// server's WAL and dead row versions are the server's to recycle (VACUUM, checkpoints): nothing a service's role can
    /// do; deployments that keep secrets' hashes there rely on the server's disk encryption (docs/deployment.md).
    /// </summary>
    public Task TruncateWalAsync(CancellationToken cancellationToken = default) =>
        Dialect == SqlDialect.Sqlite ? _walTruncations.SubmitAsync(true, cancellationToken) : Task.CompletedTask;

    // Every call of a batch is served by one checkpoint begun after it was made (requests and results carry nothing).
    private async Task TruncateWalBatchAsync(IReadOnlyList<BatchItem<bool, bool>> calls)
    {
        await CheckpointTruncateAsync(CancellationToken.None);
        foreach (var call in calls)
            call.Complete(true);
    }

    // A reader holding an old snapshot makes the checkpoint report busy (and leave the WAL): try again until it is done.
    private async Task CheckpointTruncateAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken) && reader.GetInt64(0) == 0)
                return;
            if (attempt == 100)
                throw new InvalidOperationException($"The WAL of {FilePath} could not be checkpointed and truncated: readers kept it busy for 5 s.");
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Applies every schema script of this engine not applied yet, in number order; returns the versions applied.</summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        if (Dialect == SqlDialect.Sqlite)
            await connection.ExecuteAsync("PRAGMA journal_mode = WAL;");
        // SQLite: the write lock up front, so processes that start together apply the scripts once.
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        if (Dialect == SqlDialect.Postgres)
        {
            // Replicas starting together: one applies the scripts, the others then find them applied. Released at commit.
            await connection.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext(@Lock));", new { Lock = "decommission.schema." + Location.Schema }, transaction);
            await connection.ExecuteAsync($"CREATE SCHEMA IF NOT EXISTS {Location.Schema};", transaction: transaction);
        }
        await connection.ExecuteAsync(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);",
            transaction: transaction);

        var applied = (await connection.QueryAsync<int>("SELECT version FROM schema_version;", transaction: transaction)).ToHashSet();
        var done = new List<int>();
        foreach (var script in SchemaScripts().Where(s => !applied.Contains(s.Version)).OrderBy(s => s.Version))
        {
            await connection.ExecuteAsync(script.Sql, transaction: transaction);
            await connection.ExecuteAsync(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, @Name, @AppliedAt);",
                new { script.Version, script.Name, AppliedAt = DateTimeOffset.UtcNow.ToString("O") },
                transaction);
            done.Add(script.Version);
        }
        await transaction.CommitAsync(cancellationToken);
        return done;
    }

    private IEnumerable<(int Version, string Name, string Sql)> SchemaScripts()
    {
        // Embedded names look like "Assembly.Schema.Sqlite.0001_initial.sql".
        var folder = $".Schema.{Dialect}.";
        foreach (var resource in _schemaAssembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal) && n.Contains(folder, StringComparison.Ordinal)))
        {
            var fileName = resource[(resource.LastIndexOf(folder, StringComparison.Ordinal) + folder.Length)..];
            var underscore = fileName.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(fileName[..underscore], out var version))
                throw new InvalidOperationException($"Schema script '{resource}' must be named NNNN_name.sql.");

            using var stream = _schemaAssembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            yield return (version, fileName, reader.ReadToEnd());
        }
    }
}
