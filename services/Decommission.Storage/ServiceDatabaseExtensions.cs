using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Storage;

/// <summary>Which engine the services of a process store their state in: configuration section <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>
    /// An Npgsql connection string: every service of the process keeps its state in its own schema of that PostgreSQL
    /// database (replicas of a service share it). Empty (the default): each keeps a SQLite file at its configured path.
    /// </summary>
    public string? Postgres { get; set; }
}

public static partial class ServiceDatabaseExtensions
{
    /// <summary>
    /// Registers a service's own database as a singleton and applies its schema scripts at start-up: a schema of its own in
    /// PostgreSQL when <c>Storage:Postgres</c> is configured (named after the database type: <c>OrchestratorDatabase</c> →
    /// <c>orchestrator</c>), otherwise the SQLite file at the path its options name. Hosted services start in registration
    /// order: call this before registering anything that starts with the database (the bus, schedulers, start-up checks),
    /// so the schema exists before the first of them runs.
    /// </summary>
    /// <typeparam name="TDatabase">The service's database: a <see cref="ServiceDatabase"/> constructed from a <see cref="DatabaseLocation"/>.</typeparam>
    /// <typeparam name="TOptions">The service's options, which hold the SQLite path.</typeparam>
    public static IServiceCollection AddServiceDatabase<TDatabase, TOptions>(this IServiceCollection services, Func<TOptions, string> path)
        where TDatabase : ServiceDatabase
        where TOptions : class
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section);
        services.AddSingleton(sp =>
        {
            var postgres = sp.GetRequiredService<IOptions<StorageOptions>>().Value.Postgres;
            var location = string.IsNullOrWhiteSpace(postgres)
                ? DatabaseLocation.Sqlite(path(sp.GetRequiredService<IOptions<TOptions>>().Value))
                : DatabaseLocation.Postgres(postgres, SchemaOf(typeof(TDatabase)));
            return ActivatorUtilities.CreateInstance<TDatabase>(sp, location);
        });
        services.AddHostedService<DatabaseMigrator<TDatabase>>();
        return services;
    }

    /// <summary>The PostgreSQL schema of a service's database type: <c>DeviceGatewayDatabase</c> → <c>device_gateway</c>.</summary>
    public static string SchemaOf(Type database)
    {
        var name = database.Name.EndsWith("Database", StringComparison.Ordinal) ? database.Name[..^"Database".Length] : database.Name;
        return WordStart().Replace(name, "_$1").ToLowerInvariant();
    }

    [GeneratedRegex("(?<=[a-z0-9])([A-Z])")]
    private static partial Regex WordStart();
}

/// <summary>Applies a database's schema scripts when the host starts.</summary>
internal sealed class DatabaseMigrator<TDatabase>(TDatabase database, ILogger<TDatabase> logger) : IHostedService
    where TDatabase : ServiceDatabase
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var applied = await database.MigrateAsync(cancellationToken);
        logger.LogInformation("{Database} on {Location}: schema scripts applied now: {Applied}", typeof(TDatabase).Name, database.Location,
            applied.Count == 0 ? "none" : string.Join(", ", applied));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
