using System.Text.RegularExpressions;
using Decommission.Certificates.Apis;
using Decommission.Contracts;

namespace Decommission.Cli.Tests;

/// <summary>decom destruction record, then witness by another person: only then is the retirement told.</summary>
public sealed partial class DestructionCommandTests : IAsyncLifetime
{
    private CertificatesHost _api = null!;

    public async Task InitializeAsync() => _api = await CertificatesHost.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task A_destruction_is_recorded_by_one_person_and_witnessed_by_another()
    {
        var erin = await _api.NewKey(ApiRoles.Operator, "erin");
        var frank = await _api.NewKey(ApiRoles.Auditor, "frank");
        var retirementId = Guid.NewGuid();

        var recorded = await Decom.Run("destruction", "record", retirementId.ToString(), "--device", "dev-shred", "--method", "Shredding to 2 mm",
            "--location", "Recycler GmbH", "--destroyed-at", "2026-11-30T14:00:00Z", "--api", _api.Address, "--api-key", erin);

        Assert.True(recorded.ExitCode == 0, recorded.ToString());
        Assert.Contains("Status      awaiting witness", recorded.Out);
        Assert.Contains("Performed   erin", recorded.Out);
        var recordId = RecordId().Match(recorded.Out).Groups[1].Value;
        Assert.Contains($"decom destruction witness {recordId}", recorded.Out);

        var self = await Decom.Run("destruction", "witness", recordId, "--api", _api.Address, "--api-key", erin);
        Assert.Equal(1, self.ExitCode);
        Assert.Contains("erin recorded this destruction and cannot also witness it", Assert.Single(self.ErrorLines));
        Assert.Empty(_api.Harness.Sent.Select<RecordPhysicalDestruction>());

        var witnessed = await Decom.Run(new Dictionary<string, string> { ["DECOM_API"] = _api.Address, ["DECOM_API_KEY"] = frank },
            "destruction", "witness", recordId);

        Assert.True(witnessed.ExitCode == 0, witnessed.ToString());
        Assert.Contains("Status      witnessed", witnessed.Out);
        Assert.Contains("Witness     frank at", witnessed.Out);
        var sent = Assert.Single(_api.Harness.Sent.Select<RecordPhysicalDestruction>()).Context.Message;
        Assert.Equal((retirementId, recordId, "erin", "frank", "Shredding to 2 mm"),
            (sent.RetirementId, sent.DestructionRecordId, sent.Destruction.PerformedBy, sent.Destruction.Witness, sent.Destruction.Method));

        var shown = await Decom.Run("destruction", "show", recordId, "--api", _api.Address, "--api-key", erin);
        Assert.Contains("Destroyed   2026-11-30 14:00:00Z", shown.Out);
    }

    [GeneratedRegex(@"Record\s+(DR-[0-9A-F]+)")]
    private static partial Regex RecordId();
}
