using System.Reflection;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Decommission.Sqlite;

/// <summary>
/// A service's own SQLite file: WAL mode, a busy timeout, and the numbered schema scripts embedded in the service's
/// assembly (<c>Schema/0001_name.sql</c>, …) applied once each and recorded in <c>schema_version</c>.
/// </summary>
public abstract class SqliteDatabase
{
    private readonly Assembly _schemaAssembly;
    private readonly Batcher<bool, bool> _walTruncations;

    protected SqliteDatabase(string path, Assembly schemaAssembly)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        FilePath = path;
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _schemaAssembly = schemaAssembly;
        Writes = new SqliteGroupCommit(this);
        _walTruncations = new Batcher<bool, bool>(TruncateWalBatchAsync);
    }

    public string FilePath { get; }

    /// <summary>The file's group commit: writes that arrive together share a transaction.</summary>
    public SqliteGroupCommit Writes { get; }

    public string ConnectionString { get; }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
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

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();

    /// <summary>Deleted and overwritten content is zeroed in the file (SQLite secure_delete): for files that hold secrets' hashes.</summary>
    protected virtual bool SecureDelete => false;

    /// <summary>
    /// Copies the WAL into the database file and truncates it, so destroyed content (zeroed by secure_delete) leaves no copy
    /// in the log. Calls that arrive while one runs are served by one more run after it.
    /// </summary>
    public Task TruncateWalAsync(CancellationToken cancellationToken = default) => _walTruncations.SubmitAsync(true, cancellationToken);

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

    /// <summary>Applies every schema script not applied yet, in number order; returns the versions applied.</summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await connection.ExecuteAsync("PRAGMA journal_mode = WAL;");
        await connection.ExecuteAsync(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);");

        var applied = (await connection.QueryAsync<int>("SELECT version FROM schema_version;")).ToHashSet();
        var done = new List<int>();
        foreach (var script in SchemaScripts().Where(s => !applied.Contains(s.Version)).OrderBy(s => s.Version))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(script.Sql, transaction: transaction);
            await connection.ExecuteAsync(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (@Version, @Name, @AppliedAt);",
                new { script.Version, script.Name, AppliedAt = DateTimeOffset.UtcNow.ToString("O") },
                transaction);
            await transaction.CommitAsync(cancellationToken);
            done.Add(script.Version);
        }
        return done;
    }

    private IEnumerable<(int Version, string Name, string Sql)> SchemaScripts()
    {
        foreach (var resource in _schemaAssembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal)))
        {
            // Embedded names look like "Assembly.Schema.0001_initial.sql".
            var fileName = resource[(resource.LastIndexOf(".Schema.", StringComparison.Ordinal) + ".Schema.".Length)..];
            var underscore = fileName.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(fileName[..underscore], out var version))
                throw new InvalidOperationException($"Schema script '{resource}' must be named NNNN_name.sql.");

            using var stream = _schemaAssembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            yield return (version, fileName, reader.ReadToEnd());
        }
    }
}
