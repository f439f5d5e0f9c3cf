using System.Text.RegularExpressions;
using Npgsql;

namespace Decommission.Storage;

/// <summary>The SQL engine a service's database runs on.</summary>
public enum SqlDialect
{
    /// <summary>A file beside the service (the embedded default: one process, one machine).</summary>
    Sqlite,

    /// <summary>A schema of its own in a shared PostgreSQL database (scale-out: any number of replicas).</summary>
    Postgres,
}

/// <summary>
/// Where a service's database lives: a SQLite file (a path converts to one), or a schema of its own in a PostgreSQL
/// database. Every service of a deployment may share one PostgreSQL database: each keeps its tables in its own schema.
/// </summary>
public sealed partial record DatabaseLocation
{
    private DatabaseLocation(SqlDialect dialect, string target, string? schema)
    {
        Dialect = dialect;
        Target = target;
        Schema = schema;
    }

    public SqlDialect Dialect { get; }

    /// <summary>The SQLite file's path, or the PostgreSQL connection string (which holds a password: never log it).</summary>
    internal string Target { get; }

    /// <summary>The PostgreSQL schema that holds the service's tables; null for SQLite.</summary>
    public string? Schema { get; }

    public static DatabaseLocation Sqlite(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new(SqlDialect.Sqlite, path, null);
    }

    /// <param name="connectionString">An Npgsql connection string (host, port, database, user, password).</param>
    /// <param name="schema">The service's schema: lower-case letters, digits and underscores.</param>
    public static DatabaseLocation Postgres(string connectionString, string schema)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        if (!SchemaName().IsMatch(schema))
            throw new ArgumentException($"'{schema}' is not a schema name this product uses (lower-case letters, digits, underscores).", nameof(schema));
        // Refuse a malformed string here, where configuration is read, not at the first query.
        _ = new NpgsqlConnectionStringBuilder(connectionString);
        return new(SqlDialect.Postgres, connectionString, schema);
    }

    public static implicit operator DatabaseLocation(string sqlitePath) => Sqlite(sqlitePath);

    /// <summary>For logs: the file, or host, port, database and schema (never the password).</summary>
    public override string ToString()
    {
        if (Dialect == SqlDialect.Sqlite)
            return Target;
        var builder = new NpgsqlConnectionStringBuilder(Target);
        return $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database} (schema {Schema})";
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
