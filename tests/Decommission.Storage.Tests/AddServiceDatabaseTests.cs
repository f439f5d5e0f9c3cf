using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Decommission.Storage.Tests;

public sealed class AddServiceDatabaseTests
{
    private sealed class JournalOptions
    {
        public string DatabasePath { get; set; } = "";
    }

    /// <summary>A hosted service that uses the file as it starts, the way a bus consumer or a scheduler does.</summary>
    private sealed class FirstReader(JournalDatabase database) : IHostedService
    {
        public long? EntriesAtStart { get; private set; }

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            EntriesAtStart = await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM entries;");
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static HostApplicationBuilder Builder(string path, string? postgres = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Journal:DatabasePath"] = path, ["Storage:Postgres"] = postgres });
        builder.Services.AddOptions<JournalOptions>().BindConfiguration("Journal");
        return builder;
    }

    [Fact]
    public async Task The_database_is_one_singleton_at_the_path_its_options_name_and_its_schema_is_applied_at_start()
    {
        var path = JournalDatabase.NewPath();
        var builder = Builder(path);
        builder.Services.AddServiceDatabase<JournalDatabase, JournalOptions>(o => o.DatabasePath);
        using var host = builder.Build();

        var database = host.Services.GetRequiredService<JournalDatabase>();
        Assert.Same(database, host.Services.GetRequiredService<JournalDatabase>());
        Assert.Equal(path, database.FilePath);
        await host.StartAsync();
        try
        {
            await using var connection = await database.OpenAsync();
            Assert.Equal([1], await connection.QueryAsync<int>("SELECT version FROM schema_version;"));
            Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode;"));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_hosted_service_registered_after_it_starts_with_the_schema_in_place()
    {
        var builder = Builder(JournalDatabase.NewPath());
        builder.Services.AddServiceDatabase<JournalDatabase, JournalOptions>(o => o.DatabasePath);
        builder.Services.AddSingleton<FirstReader>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FirstReader>());
        using var host = builder.Build();

        await host.StartAsync();
        await host.StopAsync();

        Assert.Equal(0, host.Services.GetRequiredService<FirstReader>().EntriesAtStart);
    }

    [Fact]
    public async Task Starting_again_on_the_same_file_applies_nothing_twice()
    {
        var path = JournalDatabase.NewPath();
        foreach (var _ in Enumerable.Range(0, 2))
        {
            var builder = Builder(path);
            builder.Services.AddServiceDatabase<JournalDatabase, JournalOptions>(o => o.DatabasePath);
            using var host = builder.Build();
            await host.StartAsync();
            await host.StopAsync();
        }

        Assert.Empty(await new JournalDatabase(path).MigrateAsync());
    }

    [Fact]
    public async Task With_a_PostgreSQL_connection_configured_the_database_is_a_schema_named_after_it_there_and_no_file_is_made()
    {
        var path = JournalDatabase.NewPath();
        var postgres = await Decommission.Testing.PostgresServer.NewDatabaseAsync();
        var builder = Builder(path, postgres);
        builder.Services.AddServiceDatabase<JournalDatabase, JournalOptions>(o => o.DatabasePath);
        using var host = builder.Build();

        await host.StartAsync();
        await host.StopAsync();

        var database = host.Services.GetRequiredService<JournalDatabase>();
        Assert.Equal(SqlDialect.Postgres, database.Dialect);
        Assert.Equal("journal", database.Location.Schema);
        Assert.DoesNotContain("Password", database.Location.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(path));
        await using var connection = new Npgsql.NpgsqlConnection(postgres);
        await connection.OpenAsync();
        Assert.Equal([1], await connection.QueryAsync<int>("SELECT version FROM journal.schema_version;"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM journal.entries;"));
    }

    [Theory]
    [InlineData(typeof(JournalDatabase), "journal")]
    [InlineData(typeof(DeviceGatewayDatabaseName), "device_gateway_database_name")]
    public void A_schema_is_named_after_its_database_type(Type database, string schema) =>
        Assert.Equal(schema, ServiceDatabaseExtensions.SchemaOf(database));

    private sealed class DeviceGatewayDatabaseName;
}
