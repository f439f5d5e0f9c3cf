using Decommission.Contracts;
using MassTransit;

namespace Decommission.Testing;

/// <summary>
/// The other services' answers, played by the test until those services exist: they consume the orchestrator's real
/// commands from their real queues and answer the way the services will. Devices named "held-…" are under legal hold.
/// </summary>
public static class PlayedServices
{
    public static readonly DeviceSnapshot Snapshot = new()
    {
        Manufacturer = "Acme", Model = "Sensor 3", SerialNumber = "SN-0001", AssetNumber = "A-17",
        MediaType = "eMMC flash", Owner = "Plant ops", Site = "Lyon",
    };

    /// <summary>Every service but the orchestrator.</summary>
    public static void Register(IBusRegistrationConfigurator bus)
    {
        RegisterAllButGateway(bus);
        bus.AddConsumer<PlayedGateway>().Endpoint(e => e.Name = QueueNames.EraseDevice);
    }

    /// <summary>The inventory only; every other service runs for real beside it.</summary>
    public static void RegisterInventory(IBusRegistrationConfigurator bus) =>
        bus.AddConsumer<PlayedInventory>().Endpoint(e => e.Name = "played-inventory");

    /// <summary>Inventory, credentials and certificates; the real device gateway runs beside them.</summary>
    public static void RegisterAllButGateway(IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<PlayedInventory>().Endpoint(e => e.Name = "played-inventory");
        bus.AddConsumer<PlayedQuarantine>().Endpoint(e => e.Name = QueueNames.QuarantineDevice);
        bus.AddConsumer<PlayedIdentityRevocation>().Endpoint(e => e.Name = QueueNames.RevokeIdentity);
        bus.AddConsumer<PlayedCertificates>().Endpoint(e => e.Name = QueueNames.IssueDisposalCertificate);
    }

    public sealed class PlayedInventory : IConsumer<RetirementRequested>
    {
        public Task Consume(ConsumeContext<RetirementRequested> context) =>
            context.Message.DeviceId.StartsWith("held-", StringComparison.Ordinal)
                ? context.Publish(new RetirementRefused
                {
                    RetirementId = context.Message.RetirementId, DeviceId = context.Message.DeviceId,
                    Reason = RefusalReasons.LegalHold, Detail = "litigation hold #12",
                })
                : context.Publish(new RetirementAccepted
                {
                    RetirementId = context.Message.RetirementId, DeviceId = context.Message.DeviceId, Device = Snapshot,
                });
    }

    public sealed class PlayedQuarantine : IConsumer<QuarantineDevice>
    {
        public Task Consume(ConsumeContext<QuarantineDevice> context) =>
            context.Publish(new DeviceQuarantined
            {
                RetirementId = context.Message.RetirementId, DeviceId = context.Message.DeviceId, NetworkSegment = "decommission",
                RevokedCredentials = [new RevokedCredential { Kind = "ApiKey", CredentialId = "key-1", RevokedAt = DateTimeOffset.UtcNow }],
                QuarantinedAt = DateTimeOffset.UtcNow,
            });
    }

    public sealed class PlayedGateway : IConsumer<EraseDevice>
    {
        public Task Consume(ConsumeContext<EraseDevice> context) =>
            context.Publish(new ErasureVerified
            {
                RetirementId = context.Message.RetirementId, DeviceId = context.Message.DeviceId, CommandId = context.Message.CommandId,
                Nonce = context.Message.Nonce, VerifiedAt = DateTimeOffset.UtcNow,
                Evidence = new ErasureEvidence { Method = "CryptographicErase", DestroyedKeyIds = ["mk-1"], SelfCheckPassed = true, CompletedAt = DateTimeOffset.UtcNow },
            });
    }

    public sealed class PlayedIdentityRevocation : IConsumer<RevokeIdentity>
    {
        public Task Consume(ConsumeContext<RevokeIdentity> context) =>
            context.Publish(new IdentityRevoked
            {
                RetirementId = context.Message.RetirementId, DeviceId = context.Message.DeviceId, CertificateSerial = "7F", CrlNumber = 1,
                RevokedAt = DateTimeOffset.UtcNow,
            });
    }

    public sealed class PlayedCertificates : IConsumer<IssueDisposalCertificate>
    {
        public Task Consume(ConsumeContext<IssueDisposalCertificate> context) =>
            context.Publish(new DisposalCertificateIssued
            {
                RetirementId = context.Message.RetirementId, DeviceId = context.Message.DeviceId,
                CertificateId = $"cert-{context.Message.RetirementId:N}", PdfSha256 = "00", IssuedAt = DateTimeOffset.UtcNow,
            });
    }
}
