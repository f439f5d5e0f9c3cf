using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Decommission.Sqlite;

public static class SqliteDatabaseExtensions
{
    /// <summary>
    /// Registers a service's own SQLite file as a singleton, at the path its options name, and applies its schema scripts
    /// at start-up. Hosted services start in registration order: call this before registering anything that starts
    /// with the file (the bus, schedulers, start-up checks), so the schema exists before the first of them runs.
    /// </summary>
    /// <typeparam name="TDatabase">The service's database: a <see cref="SqliteDatabase"/> constructed from its path.</typeparam>
    /// <typeparam name="TOptions">The service's options, which hold the path.</typeparam>
    public static IServiceCollection AddSqliteDatabase<TDatabase, TOptions>(this IServiceCollection services, Func<TOptions, string> path)
        where TDatabase : SqliteDatabase
        where TOptions : class
    {
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<TDatabase>(sp, path(sp.GetRequiredService<IOptions<TOptions>>().Value)));
        services.AddHostedService<SqliteMigrator<TDatabase>>();
        return services;
    }
}

/// <summary>Applies a database's schema scripts when the host starts.</summary>
internal sealed class SqliteMigrator<TDatabase>(TDatabase database) : IHostedService
    where TDatabase : SqliteDatabase
{
    public Task StartAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
