using Decommission.Inventory;
using Decommission.Testing;

namespace Decommission.Cli.Tests;

/// <summary>decom against the real inventory service (beside a real orchestrator) on the RabbitMQ node ops/test.sh starts.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class InventoryCommandTests : IAsyncLifetime
{
    private OrchestratorHost _host = null!;

    private static string Broker => RabbitMqNode.Uri.ToString();

    public async Task InitializeAsync() =>
        _host = await OrchestratorHost.StartOnRabbitMqAsync(_ => { }, new Dictionary<string, string?>
        {
            ["Inventory:DatabasePath"] = Path.Combine(Path.GetTempPath(), "decommission-tests", Guid.NewGuid().ToString("N"), "inventory.db"),
            ["Inventory:EndOfLifeScanInterval"] = "00:00:00",
        }, builder => builder.AddInventoryService());

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task An_import_reports_bad_rows_by_line_and_the_eol_preview_lists_the_devices_due()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var file = await Csv(
            "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife",
            $"inv-soon,Acme,TH-200,SN-1,A-1,eMMC,Plant ops,Lyon,plant,{today.AddDays(10):yyyy-MM-dd}",
            $"inv-later,Acme,TH-200,SN-2,A-2,eMMC,Plant ops,Lyon,plant,{today.AddDays(400):yyyy-MM-dd}",
            "inv-bad-date,Acme,TH-200,SN-3,A-3,eMMC,Plant ops,Lyon,plant,someday",
            $"inv-sooner,Acme,TH-300,SN-4,A-4,eMMC,Plant ops,Turin,plant,{today.AddDays(3):yyyy-MM-dd}");

        var import = await Decom.Run("devices", "import", file, "--by", "alice", "--broker", Broker);

        Assert.True(import.ExitCode == 1, $"a bad row makes the exit code 1\n{import}");
        Assert.Contains("Imported 3 devices", import.Out);
        var problem = Assert.Single(Tables.Rows(import.Out), r => r.Length == 2 && r[0] != "Line");
        Assert.Equal("4", problem[0]);
        Assert.Contains("someday", problem[1]);

        var preview = await Decom.Run("eol", "preview", "--days", "30", "--broker", Broker);
        Assert.True(preview.ExitCode == 0, preview.ToString());
        Assert.Contains("2 devices reach end of life within 30 days.", preview.Out);
        var due = Tables.Rows(preview.Out).Where(r => r.Length == 5 && r[0] != "Device").ToList();
        Assert.Equal(["inv-sooner", "inv-soon"], due.Select(r => r[0]));
        // Not yet handed to one of the scheduler's campaigns: that column is empty.
        Assert.Equal([$"{today.AddDays(3):yyyy-MM-dd}", "Turin", "TH-300", "not yet"], due[0][1..]);
    }

    [Fact]
    public async Task A_device_on_legal_hold_is_refused_until_released()
    {
        var file = await Csv("deviceId,manufacturer,model,serialNumber,mediaType", "inv-held,Acme,TH-200,SN-9,eMMC");
        Assert.Equal(0, (await Decom.Run("devices", "import", file, "--by", "alice", "--broker", Broker)).ExitCode);

        var hold = await Decom.Run("devices", "hold", "inv-held", "--reason", "litigation #12", "--by", "legal", "--broker", Broker);
        Assert.True(hold.ExitCode == 0, hold.ToString());
        Assert.Contains("inv-held is under legal hold: litigation #12.", hold.Out);

        var refused = Decom.RetirementId(await Decom.Run("retire", "inv-held", "--reason", "eol", "--by", "alice", "--broker", Broker));
        var state = await _host.WaitForState(refused, "Refused", seconds: 30);
        Assert.Equal("LegalHold", state.FailureReason);
        var status = await Decom.Run("status", refused.ToString(), "--broker", Broker);
        Assert.StartsWith("LegalHold", Tables.Fact(status.Out, "Failure"));

        var release = await Decom.Run("devices", "release", "inv-held", "--by", "legal", "--broker", Broker);
        Assert.True(release.ExitCode == 0, release.ToString());
        Assert.Contains("inv-held is not under legal hold.", release.Out);
        var accepted = Decom.RetirementId(await Decom.Run("retire", "inv-held", "--reason", "eol", "--by", "alice", "--broker", Broker));
        Assert.NotEqual(refused, accepted);
        await _host.WaitForRetirement(accepted, r => r.CurrentState != "Requested", "past Requested", seconds: 30);
        Assert.NotEqual("Refused", (await _host.Store.LoadAsync(accepted))!.CurrentState);

        var unknown = await Decom.Run("devices", "hold", "inv-unknown", "--reason", "x", "--by", "legal", "--broker", Broker);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("decom: no device inv-unknown in the inventory", Assert.Single(unknown.ErrorLines));
    }

    private static async Task<string> Csv(params string[] lines)
    {
        var file = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}.csv");
        await File.WriteAllLinesAsync(file, lines);
        return file;
    }
}
