using Dapper;
using Decommission.Contracts;
using Decommission.Inventory.EndOfLife;
using Decommission.Storage;
using Decommission.Testing;
using MassTransit;

namespace Decommission.Inventory.Tests;

public sealed class InventoryTests
{
    private static readonly DateOnly Today = DateOnly.FromDateTime(DateTime.UtcNow);

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_csv_import_reports_bad_rows_by_line_and_imports_only_the_good_ones(SqlDialect engine)
    {
        await using var host = await InventoryHost.StartAsync(engine);
        var csv = """
            deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife
            good-1,Acme,TH-200,SN1,A1,eMMC,Ops,Lyon,floor,2027-01-31
            ,Acme,TH-200,SN2,A2,eMMC,Ops,Lyon,floor,
            bad-date,Acme,TH-200,SN3,A3,eMMC,Ops,Lyon,floor,31/01/2027
            good-2,Acme,TH-200,SN4,A4,eMMC,Ops,Lyon,floor,
            good-1,Acme,TH-200,SN5,A5,eMMC,Ops,Lyon,floor,
            no-serial,Acme,TH-200,,A6,eMMC,Ops,Lyon,floor,
            """;

        var result = await host.Import(csv);

        Assert.Equal(2, result.Imported);
        Assert.Equal([3, 4, 6, 7], result.Problems.Select(p => p.Line));
        Assert.Contains("deviceId is required", result.Problems[0].Problem);
        Assert.Contains("not a date", result.Problems[1].Problem);
        Assert.Contains("appears twice", result.Problems[2].Problem);
        Assert.Contains("serialNumber is required", result.Problems[3].Problem);
        await using var connection = await host.Database.OpenAsync();
        Assert.Equal(["good-1", "good-2"], await connection.QueryAsync<string>("SELECT device_id FROM devices ORDER BY device_id;"));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_device_under_legal_hold_is_refused_with_the_reason_and_accepted_once_released(SqlDialect engine)
    {
        await using var host = await InventoryHost.StartAsync(engine);
        await host.Import(InventoryHost.Csv([("held-1", null)]));
        var hold = await host.Harness.GetRequestClient<SetLegalHold>().GetResponse<LegalHoldSet>(
            new SetLegalHold { DeviceId = "held-1", Hold = true, Reason = "litigation 2026-114", RequestedBy = "legal" });
        Assert.True(hold.Message.Found && hold.Message.Hold);

        var first = NewId.NextGuid();
        await host.Harness.Bus.Publish(new RetirementRequested { RetirementId = first, DeviceId = "held-1", Reason = "eol", RequestedBy = "alice" });
        var refused = await host.WaitForPublished<RetirementRefused>(m => m.RetirementId == first);
        Assert.Equal(RefusalReasons.LegalHold, refused.Reason);
        Assert.Contains("litigation 2026-114", refused.Detail);

        await host.Harness.GetRequestClient<SetLegalHold>().GetResponse<LegalHoldSet>(new SetLegalHold { DeviceId = "held-1", Hold = false, RequestedBy = "legal" });
        var second = NewId.NextGuid();
        await host.Harness.Bus.Publish(new RetirementRequested { RetirementId = second, DeviceId = "held-1", Reason = "eol", RequestedBy = "alice" });
        var accepted = await host.WaitForPublished<RetirementAccepted>(m => m.RetirementId == second);
        Assert.Equal(("SN-held-1", "Lyon", "Plant ops"), (accepted.Device.SerialNumber, accepted.Device.Site, accepted.Device.Owner));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Unknown_disposed_and_already_retiring_devices_are_refused_with_their_reasons(SqlDialect engine)
    {
        await using var host = await InventoryHost.StartAsync(engine);
        await host.Import(InventoryHost.Csv([("dev-a", null), ("dev-b", null)]));
        var retiring = NewId.NextGuid();
        await host.Harness.Bus.Publish(new RetirementRequested { RetirementId = retiring, DeviceId = "dev-a", Reason = "eol", RequestedBy = "alice" });
        await host.WaitForPublished<RetirementAccepted>(m => m.RetirementId == retiring);
        var disposedRetirement = NewId.NextGuid();
        await host.Harness.Bus.Publish(new RetirementRequested { RetirementId = disposedRetirement, DeviceId = "dev-b", Reason = "eol", RequestedBy = "alice" });
        await host.WaitForPublished<RetirementAccepted>(m => m.RetirementId == disposedRetirement);
        await host.Harness.Bus.Publish(new DeviceDecommissioned { RetirementId = disposedRetirement, DeviceId = "dev-b", SanitizationType = "Purge" });
        await using (var connection = await host.Database.OpenAsync())
            await Eventually.Get(() => connection.ExecuteScalarAsync<string>("SELECT status FROM devices WHERE device_id = 'dev-b';"), status => status == "Disposed",
                "dev-b to be Disposed", TimeSpan.FromSeconds(10));

        var reasons = new List<string>();
        foreach (var device in new[] { "nobody", "dev-b", "dev-a" })
        {
            var id = NewId.NextGuid();
            await host.Harness.Bus.Publish(new RetirementRequested { RetirementId = id, DeviceId = device, Reason = "eol", RequestedBy = "bob" });
            reasons.Add((await host.WaitForPublished<RetirementRefused>(m => m.RetirementId == id)).Reason);
        }

        Assert.Equal([RefusalReasons.UnknownDevice, RefusalReasons.AlreadyDisposed, RefusalReasons.AlreadyRetiring], reasons);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task The_preview_lists_what_would_retire_without_retiring_anything(SqlDialect engine)
    {
        await using var host = await InventoryHost.StartAsync(engine);
        await host.Import(InventoryHost.Csv([("past", Today.AddDays(-3)), ("soon", Today.AddDays(10)), ("later", Today.AddDays(60)), ("held", Today.AddDays(-1)), ("none", null)]));
        await host.Harness.GetRequestClient<SetLegalHold>().GetResponse<LegalHoldSet>(new SetLegalHold { DeviceId = "held", Hold = true, Reason = "audit", RequestedBy = "legal" });

        var preview = (await host.Harness.GetRequestClient<PreviewEndOfLife>().GetResponse<EndOfLifePreview>(new PreviewEndOfLife { Days = 30 })).Message;

        Assert.Equal(["past", "soon"], preview.Devices.Select(d => d.DeviceId));
        Assert.Equal(2, preview.Total);
        Assert.Equal(Today.AddDays(-3), preview.Devices[0].EndOfLife);
        await Task.Delay(300);
        Assert.Empty(host.SentCampaigns());
        await using var connection = await host.Database.OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM devices WHERE eol_claimed_at IS NOT NULL;"));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task The_scheduler_retires_each_due_device_exactly_once_with_two_instances_and_a_restart(SqlDialect engine)
    {
        var path = await InventoryHost.NewDatabase(engine);
        var first = await InventoryHost.StartAsync(path);
        await using var second = await InventoryHost.StartAsync(path);
        var due = Enumerable.Range(0, 300).Select(i => ($"due-{i}", (DateOnly?)Today.AddDays(-(i % 5)))).ToList();
        await first.Import(InventoryHost.Csv([.. due, ("future", Today.AddDays(5)), ("held", Today.AddDays(-1))]));
        await first.Harness.GetRequestClient<SetLegalHold>().GetResponse<LegalHoldSet>(new SetLegalHold { DeviceId = "held", Hold = true, Reason = "audit", RequestedBy = "legal" });

        // Both instances scan at once, several times.
        var scans = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => (i % 2 == 0 ? first : second).Scheduler.ScanOnceAsync())));
        var sentBeforeRestart = first.SentCampaigns().Concat(second.SentCampaigns()).ToList();
        await first.DisposeAsync();

        await using var restarted = await InventoryHost.StartAsync(path);
        Assert.Empty(await restarted.Scheduler.ScanOnceAsync());
        await restarted.Import(InventoryHost.Csv([("late-arrival", Today)]));
        Assert.Equal(["late-arrival"], await restarted.Scheduler.ScanOnceAsync());

        Assert.Equal(300, scans.Sum(s => s.Count));
        var devices = sentBeforeRestart.SelectMany(s => s.Campaign.DeviceIds).ToList();
        Assert.Equal(due.Select(d => d.Item1).Order(), devices.Order());
        // Each batch is one campaign, sent under its own id; the devices' retirements follow from it (the orchestrator's side).
        Assert.All(sentBeforeRestart, s => Assert.Equal(s.Campaign.CampaignId, s.MessageId));
        Assert.Equal(sentBeforeRestart.Count, sentBeforeRestart.Select(s => s.Campaign.CampaignId).Distinct().Count());
        var campaign = sentBeforeRestart[0].Campaign;
        Assert.Equal("end-of-life scheduler", campaign.RequestedBy);
        Assert.Equal("end-of-life scheduler", campaign.Source);
        Assert.Equal($"end of life {Today:yyyy-MM-dd}", campaign.Name);
        Assert.StartsWith("EndOfLife", campaign.Reason);
        Assert.Equal(60, campaign.PacePerMinute);
        Assert.Equal(20, Assert.Single(campaign.AbortCriteria).Percent);
        Assert.Equal(["late-arrival"], restarted.SentCampaigns().Single().Campaign.DeviceIds);
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_claim_left_unsent_by_a_crash_is_sent_again_as_the_same_campaign(SqlDialect engine)
    {
        await using var host = await InventoryHost.StartAsync(engine);
        await host.Import(InventoryHost.Csv([("crashy", Today.AddDays(-1)), ("crashy-2", Today.AddDays(-2)), ("fresh", Today)]));
        var campaignId = Guid.NewGuid();
        await using (var connection = await host.Database.OpenAsync())
            await connection.ExecuteAsync("""
                UPDATE devices SET eol_claimed_at = @At, eol_claimed_by = 'dead instance', eol_campaign_id = @Campaign WHERE device_id IN ('crashy', 'crashy-2');
                """, new { At = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"), Campaign = campaignId.ToString() });

        var sent = await host.Scheduler.ScanOnceAsync();

        Assert.Equal(["crashy", "crashy-2", "fresh"], sent.Order());
        var campaigns = host.SentCampaigns();
        Assert.Equal(2, campaigns.Count);
        var again = Assert.Single(campaigns, c => c.Campaign.CampaignId == campaignId);
        Assert.Equal(["crashy", "crashy-2"], again.Campaign.DeviceIds);
        Assert.Equal(campaignId, again.MessageId);
        Assert.Equal(["fresh"], Assert.Single(campaigns, c => c.Campaign.CampaignId != campaignId).Campaign.DeviceIds);
        Assert.Empty(await host.Scheduler.ScanOnceAsync());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task A_selection_gives_the_active_unheld_devices_that_match_every_field(SqlDialect engine)
    {
        await using var host = await InventoryHost.StartAsync(engine);
        await host.Import(InventoryHost.Csv([
            ("lyon-a", Today.AddDays(5), "TH-200", "Plant ops", "Lyon"), ("lyon-b", Today.AddDays(40), "TH-200", "Plant ops", "Lyon"),
            ("lyon-c", Today.AddDays(5), "TH-300", "Plant ops", "Lyon"), ("paris-a", Today.AddDays(5), "TH-200", "Plant ops", "Paris"),
            ("lyon-held", Today.AddDays(5), "TH-200", "Plant ops", "Lyon"), ("lyon-undated", null, "TH-200", "Facilities", "Lyon")]));
        await host.Harness.GetRequestClient<SetLegalHold>().GetResponse<LegalHoldSet>(new SetLegalHold { DeviceId = "lyon-held", Hold = true, Reason = "audit", RequestedBy = "legal" });
        var select = host.Harness.GetRequestClient<SelectDevices>();

        async Task<SelectedDevices> Select(DeviceSelection selection, int limit = 100) =>
            (await select.GetResponse<SelectedDevices>(new SelectDevices { Selection = selection, Limit = limit })).Message;

        var lyon = await Select(new DeviceSelection { Site = "lyon", Model = "th-200" });
        Assert.Equal(["lyon-a", "lyon-b", "lyon-undated"], lyon.DeviceIds);
        Assert.Equal((3, 1), (lyon.Total, lyon.Held));
        Assert.Equal(["lyon-a", "lyon-c", "paris-a"], (await Select(new DeviceSelection { EndOfLifeBy = Today.AddDays(10), Owner = "Plant ops" })).DeviceIds);
        Assert.Equal(["lyon-undated"], (await Select(new DeviceSelection { Owner = "FACILITIES" })).DeviceIds);
        var capped = await Select(new DeviceSelection { Site = "Lyon" }, limit: 2);
        Assert.Equal((2, 4), (capped.DeviceIds.Count, capped.Total));
        // A device whose retirement began is no longer selectable.
        await host.Harness.Bus.Publish(new RetirementRequested { RetirementId = Guid.NewGuid(), DeviceId = "lyon-a", Reason = "test", RequestedBy = "bob" });
        await host.WaitForPublished<RetirementAccepted>(m => m.DeviceId == "lyon-a");
        await Eventually.True(async () => !(await Select(new DeviceSelection { Site = "Lyon" })).DeviceIds.Contains("lyon-a"), "lyon-a to leave the selection");
    }

    // SQLite's plan (PostgreSQL's planner picks by table statistics: a small test table is read whole).
    [Fact]
    public async Task The_end_of_life_scan_is_answered_from_its_index()
    {
        await using var host = await InventoryHost.StartAsync();
        await using var connection = await host.Database.OpenAsync();

        var detail = await connection.QueryAsync<(long Id, long Parent, long NotUsed, string Detail)>("""
            EXPLAIN QUERY PLAN SELECT device_id FROM devices
            WHERE status = 'Active' AND legal_hold = 0 AND eol_claimed_at IS NULL AND end_of_life IS NOT NULL AND end_of_life <= 740000
            ORDER BY end_of_life LIMIT 1000;
            """);

        Assert.Contains(detail, row => row.Detail.Contains("ix_devices_end_of_life_due", StringComparison.Ordinal));
    }
}
