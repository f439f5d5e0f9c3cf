using Decommission.Outbox;
using Decommission.Contracts;
using Decommission.Credentials.Broker;
using Decommission.Credentials.Enrollment;
using Decommission.Credentials.Provisioning;
using Decommission.Credentials.Revocation;
using Decommission.ServiceDefaults;
using Decommission.Storage;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Decommission.Credentials;

public static class CredentialsServiceExtensions
{
    /// <summary>Quarantines and revocations taken at once per queue: each waits for a batch (broker identities, the CRL) that serves them all.</summary>
    private const int IdentityChangesInFlight = 256;

    /// <summary>Everything the credentials service owns: its database, the fleet CA, enrollment, quarantine, identity revocation and the CRL.</summary>
    public static IHostApplicationBuilder AddCredentialsService(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CredentialsOptions>().BindConfiguration(CredentialsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddServiceDatabase<CredentialsDatabase, CredentialsOptions>(o => o.DatabasePath);
        builder.Services.AddOutbox<CredentialsDatabase>();
        builder.Services.AddOptions<DeviceBrokerOptions>().BindConfiguration(DeviceBrokerOptions.Section);
        builder.Services.AddSingleton<DeviceBrokerIdentities>();
        builder.Services.AddOptions<ProvisioningOptions>().BindConfiguration(ProvisioningOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ProvisioningMaterial>();
        builder.Services.AddSingleton<FleetCertificateAuthority>();
        builder.Services.AddSingleton<RevocationStore>();
        builder.Services.AddSingleton<CrlPublisher>();
        builder.AddCrlMetrics();
        builder.Services.AddSingleton<IdentityRegistration>();
        builder.Services.AddSingleton<AdmittedRetirementStore>();
        builder.Services.AddSingleton<EnrolledDeviceStore>();
        builder.Services.AddSingleton<DeviceEnrollment>();
        builder.Services.AddHostedService<CredentialsStartup>();
        builder.Services.AddHostedService<CrlRefresher>();

        builder.AddBusRegistration(bus =>
        {
            bus.AddConsumer<EnrollmentConsumer>().Endpoint(e => e.Name = QueueNames.EnrollDevice);
            bus.AddConsumer<CheckCredentialConsumer>().Endpoint(e => e.Name = QueueNames.CheckCredential);
            // An order whose admission (RetirementAccepted, on another queue) has not arrived yet waits for it a little.
            bus.AddConsumer<QuarantineDeviceConsumer>()
                .Endpoint(e =>
                {
                    e.Name = QueueNames.QuarantineDevice;
                    // Quarantines change broker identities together (DeviceBrokerIdentities): let a fleet's gather in batches.
                    e.PrefetchCount = IdentityChangesInFlight;
                    e.ConcurrentMessageLimit = IdentityChangesInFlight;
                });
            bus.AddConsumer<RetirementAdmissionConsumer>().Endpoint(e => e.Name = QueueNames.CredentialsEvents);
            // Not through the outbox: IdentityRevoked must leave at once, while removing the broker identity after it may fail
            // and be retried for a while (an outbox would hold the announcement until the removal worked). A retry finds the
            // revocation done and announces it again.
            bus.AddConsumer<RevokeIdentityConsumer>(c => c.UseMessageRetry(r =>
            {
                r.Ignore<UnknownDeviceException>();
                r.Intervals(50, 200, 1000, 2000, 5000, 10000);
            })).Endpoint(e =>
            {
                e.Name = QueueNames.RevokeIdentity;
                // Revocations wait for the next CRL together (CrlPublisher): let a fleet's gather in batches of hundreds.
                e.PrefetchCount = IdentityChangesInFlight;
                e.ConcurrentMessageLimit = IdentityChangesInFlight;
            });

            // What these consumers announce leaves through the outbox: a delivery the broker lost is made again from the file.
            bus.UseOutboxOn<CredentialsDatabase>(r => r.Intervals(10, 50, 200, 1000, 2000, 5000, 10000), QueueNames.QuarantineDevice);
            bus.UseOutboxOn<CredentialsDatabase>(r => r.Intervals(100, 500, 1000), QueueNames.CredentialsEvents);
        });
        return builder;
    }
}

/// <summary>The CA (created or loaded, so a bad key stops the start) and a first CRL, before any message is consumed.</summary>
internal sealed class CredentialsStartup(FleetCertificateAuthority ca, CrlPublisher crls, DeviceBrokerIdentities broker,
    ILogger<CredentialsStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _ = ca.Certificate;
        if (!broker.IsManaged)
            logger.LogInformation("Devices' broker identities are not managed: no {Section}:ManagementUri is set", DeviceBrokerOptions.Section);
        await crls.EnsureFreshCrlAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
