using Decommission.Outbox;
using Decommission.Certificates.Apis;
using Decommission.Certificates.Destructions;
using Decommission.Certificates.Issuing;
using Decommission.Certificates.Pdf;
using Decommission.Contracts;
using Decommission.ServiceDefaults;
using Decommission.Storage;
using MassTransit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates;

public static class CertificatesServiceExtensions
{
    /// <summary>Everything the certificates service owns: its database, the signing identity, issuing, verification, API keys and their policies.</summary>
    public static IHostApplicationBuilder AddCertificatesService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CertificatesOptions>().BindConfiguration(CertificatesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddServiceDatabase<CertificatesDatabase, CertificatesOptions>(o => o.DatabasePath);
        builder.Services.AddOutbox<CertificatesDatabase>();
        builder.Services.AddSingleton<SigningIdentity>();
        builder.Services.AddSingleton<CertificatePdf>();
        builder.Services.AddSingleton<EvidenceTrust>();
        builder.Services.AddSingleton<DestructionStore>();
        builder.Services.AddSingleton<CertificateStore>();
        builder.Services.AddSingleton<CertificateFiles>();
        // The one place the engine decides where certificates' bytes live: files beside SQLite, the database itself on PostgreSQL.
        builder.Services.AddSingleton<CertificateArchive>(sp => sp.GetRequiredService<CertificatesDatabase>().Dialect == SqlDialect.Postgres
            ? ActivatorUtilities.CreateInstance<DatabaseCertificateArchive>(sp)
            : ActivatorUtilities.CreateInstance<FileCertificateArchive>(sp));
        builder.Services.AddSingleton<CertificateIssuer>();
        builder.Services.AddSingleton<CertificateMetrics>();
        builder.Services.AddSingleton<CertificateVerification>();
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<AccessLog>();
        builder.Services.AddHostedService<CertificatesStartup>();

        builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiRoles.ReadPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireRole(ApiRoles.Auditor, ApiRoles.Operator))
            .AddPolicy(ApiRoles.AuditPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireRole(ApiRoles.Auditor))
            .AddPolicy(ApiRoles.DestructionPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireRole(ApiRoles.Auditor, ApiRoles.Operator))
            .AddPolicy(ApiRoles.OperatePolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireRole(ApiRoles.Operator));
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, RefusalAccessLog>();
        builder.Services.AddSingleton<VerificationGate>();
        builder.Services.AddTransient<IStartupFilter, SecurityHeaders.StartupFilter>();
        builder.Services.AddOpenApi("certificates");

        builder.AddBusRegistration(bus =>
        {
            bus.AddConsumer<IssueDisposalCertificateConsumer>().Endpoint(e =>
            {
                e.Name = QueueNames.IssueDisposalCertificate;
                // Rendering and signing keep a core busy: more at once than the cores only holds more documents in memory.
                e.ConcurrentMessageLimit = 2 * Environment.ProcessorCount;
            });
            // The announcement of an issued certificate leaves through the outbox, after the certificate's row.
            bus.UseOutboxOn<CertificatesDatabase>(r => r.Intervals(100, 500, 2000), QueueNames.IssueDisposalCertificate);
        });
        return builder;
    }
}

/// <summary>
/// Before any order is consumed: the signing identity (created or loaded, so a bad or missing key stops the start), and what an
/// interrupted issue left removed (SQLite's files; every issue awaits that too, whichever host starts first).
/// </summary>
internal sealed class CertificatesStartup(SigningIdentity signing, CertificateArchive archive, IOptions<CertificatesOptions> options,
    ILogger<CertificatesStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _ = signing.Certificate;
        if (options.Value.CrashTestPauseAt is { Count: > 0 } steps)
            logger.LogWarning("Certificates:CrashTestPauseAt is set (crash tests only): the first {Count} issues stop at {Steps} until the process is killed",
                steps.Count, string.Join(", ", steps));
        await archive.RecoverAsync();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
