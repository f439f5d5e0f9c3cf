using Decommission.Contracts;
using MassTransit;
using MassTransit.Testing;

namespace Decommission.Testing;

/// <summary>Plays the operator and the other services (inventory, credentials, gateway, certificates) against an orchestrator host.</summary>
public sealed class Scenario(OrchestratorHost host)
{
    public OrchestratorHost Host => host;

    public async Task<Guid> Retire(string deviceId, string by = "alice")
    {
        var id = NewId.NextGuid();
        var endpoint = await host.Bus.GetSendEndpoint(new Uri($"queue:{QueueNames.RetireDevice}"));
        await endpoint.Send(new RetireDevice { DeviceId = deviceId, Reason = "end of life", RequestedBy = by, RequestedAt = DateTimeOffset.UtcNow },
            context => context.MessageId = id);
        return id;
    }

    public Task Publish<T>(T message) where T : class => host.Bus.Publish(message);

    public async Task Send<T>(T message) where T : class
    {
        var endpoint = await host.Bus.GetSendEndpoint(new Uri($"queue:{QueueNames.RetireDevice}"));
        await endpoint.Send(message);
    }

    public Task Accept(Guid id, string deviceId) =>
        Publish(new RetirementAccepted { RetirementId = id, DeviceId = deviceId, Device = PlayedServices.Snapshot });

    public Task Quarantined(Guid id, string deviceId) =>
        Publish(new DeviceQuarantined
        {
            RetirementId = id, DeviceId = deviceId, NetworkSegment = "decommission",
            RevokedCredentials = [new RevokedCredential { Kind = "CloudToken", CredentialId = "tok-1", RevokedAt = DateTimeOffset.UtcNow }],
            QuarantinedAt = DateTimeOffset.UtcNow,
        });

    /// <summary>The gateway's ErasureVerified; by default with the nonce the saga issued (a forger would not have it).</summary>
    public async Task Verified(Guid id, string deviceId, Guid commandId, string? nonce = null) =>
        await Publish(new ErasureVerified
        {
            RetirementId = id, DeviceId = deviceId, CommandId = commandId, Nonce = nonce ?? await CurrentNonce(id), VerifiedAt = DateTimeOffset.UtcNow,
            Evidence = new ErasureEvidence
            {
                Method = "CryptographicErase", DestroyedKeyIds = ["media-key-1"], AreasCovered = ["user-data"],
                AreasNotCovered = ["boot ROM"], SelfCheckPassed = true, CompletedAt = DateTimeOffset.UtcNow, ReceiptSha256 = "ab12",
            },
        });

    public async Task Rejected(Guid id, string deviceId, Guid commandId, string reason, bool conclusive = true, string? nonce = null) =>
        await Publish(new ErasureRejected
        {
            RetirementId = id, DeviceId = deviceId, CommandId = commandId, Nonce = nonce ?? await CurrentNonce(id), Reason = reason, Detail = "test",
            Conclusive = conclusive, RejectedAt = DateTimeOffset.UtcNow,
        });

    /// <summary>The nonce of the retirement's current erase command, as the saga stored it.</summary>
    public async Task<string> CurrentNonce(Guid id) => (await host.Store.LoadAsync(id))?.EraseNonce ?? "";

    public Task IdentityRevoked(Guid id, string deviceId) =>
        Publish(new IdentityRevoked { RetirementId = id, DeviceId = deviceId, CertificateSerial = "0A1B", CrlNumber = 7, RevokedAt = DateTimeOffset.UtcNow });

    public Task CertificateIssued(Guid id, string deviceId) =>
        Publish(new DisposalCertificateIssued { RetirementId = id, DeviceId = deviceId, CertificateId = $"cert-{id:N}", PdfSha256 = "ff", IssuedAt = DateTimeOffset.UtcNow });

    /// <summary>The commands of type T the orchestrator has sent so far that match.</summary>
    public IReadOnlyList<T> SentSoFar<T>(Func<T, bool>? match = null) where T : class =>
        BusTraffic.Of<T>(host.Harness).Where(m => match?.Invoke(m) ?? true).ToList();

    /// <summary>Waits until at least <paramref name="count"/> matching commands were sent.</summary>
    public Task<IReadOnlyList<T>> WaitForSent<T>(Func<T, bool> match, int count = 1, int seconds = 15) where T : class =>
        Eventually.Get(() => SentSoFar(match), sent => sent.Count >= count, $"{count} {typeof(T).Name} sent", TimeSpan.FromSeconds(seconds),
            describe: sent => $"{sent.Count} sent");

    public async Task<IReadOnlyList<T>> WaitForPublished<T>(Func<T, bool> match, int seconds = 15) where T : class =>
        await Eventually.Get(() => BusTraffic.Of<T>(host.Harness).Where(match).ToList(), published => published.Count > 0,
            $"a {typeof(T).Name} to be published", TimeSpan.FromSeconds(seconds), describe: _ => "none matched");

    /// <summary>Drives a new retirement to Erasing and returns its id and the erase command id.</summary>
    public async Task<(Guid Id, Guid CommandId)> RetireToErasing(string deviceId)
    {
        var id = await Retire(deviceId);
        await host.WaitForState(id, "Requested");
        await Accept(id, deviceId);
        await host.WaitForState(id, "Quarantining");
        await Quarantined(id, deviceId);
        var erasing = await host.WaitForState(id, "Erasing");
        return (id, erasing.EraseCommandId!.Value);
    }
}
