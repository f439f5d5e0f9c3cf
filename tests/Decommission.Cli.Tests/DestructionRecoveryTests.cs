using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Decommission.Certificates.Apis;
using Decommission.Contracts;

namespace Decommission.Cli.Tests;

/// <summary>
/// The other way out of a Failed retirement, all from decom: a destruction recorded and witnessed through the real certificates
/// service, which tells the real orchestrator over the RabbitMQ node ops/test.sh starts; the retirement ends with a Destroy certificate.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed partial class DestructionRecoveryTests
{
    private static string Broker => RabbitMqNode.Uri.ToString();

    [Fact]
    public async Task A_failed_retirement_whose_device_is_destroyed_and_witnessed_through_decom_completes_with_a_Destroy_certificate()
    {
        await using var certificates = await CertificatesHost.StartAsync(bus: TestBus.RabbitMq);
        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(bus =>
        {
            bus.AddConsumer<PlayedServices.PlayedInventory>().Endpoint(e => e.Name = "played-inventory");
            bus.AddConsumer<PlayedServices.PlayedQuarantine>().Endpoint(e => e.Name = QueueNames.QuarantineDevice);
            bus.AddConsumer<PlayedServices.PlayedIdentityRevocation>().Endpoint(e => e.Name = QueueNames.RevokeIdentity);
            bus.AddConsumer<FirstEraseFailsGateway>().Endpoint(e => e.Name = QueueNames.EraseDevice);
        });
        var (erin, frank) = (await certificates.NewKey(ApiRoles.Operator, "erin"), await certificates.NewKey(ApiRoles.Auditor, "frank"));
        var device = $"dev-shred-{Guid.NewGuid():N}";
        var id = Decom.RetirementId(await Decom.Run("retire", device, "--reason", "eol", "--by", "alice", "--broker", Broker));
        await host.WaitForState(id, RetirementStates.Failed);

        var recorded = await Decom.Run("destruction", "record", id.ToString(), "--device", device, "--method", "Shredding to 2 mm",
            "--location", "Recycler GmbH", "--api", certificates.Address, "--api-key", erin);
        Assert.True(recorded.ExitCode == 0, recorded.ToString());
        var recordId = RecordId().Match(recorded.Out).Groups[1].Value;
        // Recorded by one person only: the retirement waits.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(RetirementStates.Failed, (await host.Store.LoadAsync(id))!.CurrentState);

        var witnessed = await Decom.Run("destruction", "witness", recordId, "--api", certificates.Address, "--api-key", frank);
        Assert.True(witnessed.ExitCode == 0, witnessed.ToString());
        Assert.Contains($"Next        decom status {id}", witnessed.Out);

        var status = await Eventually.Get(() => Decom.Run("status", id.ToString(), "--broker", Broker),
            run => Tables.Fact(run.Out, "State") == RetirementStates.Completed, $"{id} to be Completed after the witnessed destruction",
            TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100), run => run.ToString());
        var history = Tables.Rows(status.Out).Where(r => r.Length == 6 && r[0] != "At").ToList();
        Assert.Contains(history, r => r[1] == "Failed" && r[2] == "RevokingIdentity" && r[4] == "erin (witness: frank)");
        var certificateId = Tables.Fact(status.Out, "Certificate");

        using var api = certificates.Client(frank);
        var page = await api.GetFromJsonAsync<CertificatesApi.CertificatePage>($"/api/certificates?deviceId={Uri.EscapeDataString(device)}");
        var certificate = Assert.Single(page!.Items);
        Assert.Equal((certificateId, id, SanitizationTypes.Destroy), (certificate.CertificateId, certificate.RetirementId, certificate.SanitizationType));
        Assert.Equal(1, FirstEraseFailsGateway.Orders(device));
    }

    [GeneratedRegex(@"Record\s+(DR-[0-9A-F]+)")]
    private static partial Regex RecordId();
}
