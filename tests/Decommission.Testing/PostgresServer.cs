using Dapper;
using Decommission.Storage;
using Npgsql;

namespace Decommission.Testing;

/// <summary>
/// The throwaway PostgreSQL ops/test.sh starts (DECOM_TEST_POSTGRES); tests that need it fail loudly when it is absent.
/// Store tests run on both engines: <see cref="Engines"/> is their theory data, <see cref="NewLocation"/> gives each
/// test a database of its own on the engine it was given (a fresh SQLite file, or a fresh schema in PostgreSQL).
/// </summary>
public static class PostgresServer
{
    public const string Variable = "DECOM_TEST_POSTGRES";

    /// <summary>The application role's connection string (it may create schemas and databases).</summary>
    public static string ConnectionString
    {
        get
        {
            var value = Environment.GetEnvironmentVariable(Variable);
            if (string.IsNullOrEmpty(value))
                throw new InvalidOperationException(
                    $"{Variable} is not set: this test needs the real PostgreSQL server that ops/test.sh starts. Run the tests with ops/test.sh.");
            return value;
        }
    }

    /// <summary>Both engines a store runs on: the theory data of every store test.</summary>
    public static TheoryData<SqlDialect> Engines => new() { SqlDialect.Sqlite, SqlDialect.Postgres };

    /// <summary>A database nobody else uses, on <paramref name="engine"/>: a file in a fresh directory, or a fresh schema.</summary>
    public static DatabaseLocation NewLocation(SqlDialect engine, string name = "test") => engine switch
    {
        SqlDialect.Sqlite => DatabaseLocation.Sqlite(Path.Combine(Directory.CreateTempSubdirectory("decom-store-").FullName, name + ".db")),
        _ => DatabaseLocation.Postgres(ConnectionString, $"{name.ToLowerInvariant().Replace('-', '_')}_{Guid.NewGuid():N}"[..Math.Min(63, name.Length + 33)]),
    };

    /// <summary>
    /// A fresh PostgreSQL database for one test's services (their <c>Storage:Postgres</c>): each service makes its own
    /// schema there, as in a deployment.
    /// </summary>
    public static async Task<string> NewDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await connection.ExecuteAsync($"CREATE DATABASE {name};");
        }
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }
}
