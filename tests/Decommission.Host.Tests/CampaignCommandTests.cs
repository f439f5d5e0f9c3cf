using System.Text.RegularExpressions;
using Decommission.Certificates.Apis;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Host.Tests;

/// <summary>decom campaign, as an operator types it, against every service in one process and an in-process fleet.</summary>
public sealed partial class CampaignCommandTests
{
    [Fact]
    public async Task An_operator_starts_a_campaign_with_decom_a_second_one_approves_it_and_show_and_list_follow_it_to_its_end()
    {
        var specs = new[] { "cli-1", "cli-2", "cli-3" }.Select(id => new DeviceSpec { Id = id, Behaviour = DeviceBehaviour.Healthy })
            .Append(new DeviceSpec { Id = "cli-4", Behaviour = DeviceBehaviour.EraseFails }).ToList();
        await using var host = await FleetHost.StartAsync(specs, new Dictionary<string, string?> { ["Orchestrator:CampaignApprovalAbove"] = "3" });
        var keys = host.Services.GetRequiredService<ApiKeyStore>();
        var dana = await keys.CreateAsync("dana", ApiRoles.Operator);
        var eli = await keys.CreateAsync("eli", ApiRoles.Operator);
        var api = host.BaseAddress.ToString();

        var started = await Decom.Run("campaign", "start", "--name", "line-4", "--devices", "cli-1,cli-2,cli-3,cli-4", "--reason", "line closed",
            "--pace", "600", "--abort", "60:4", "--api", api, "--api-key", dana);
        Assert.True(started.ExitCode == 0, started.ToString());
        Assert.Contains($"State       {CampaignStates.AwaitingApproval}", started.Out);
        var id = CampaignId().Match(started.Out).Groups[1].Value;
        Assert.Contains($"decom campaign approve {id}", started.Out);

        var self = await Decom.Run("campaign", "approve", id, "--api", api, "--api-key", dana);
        Assert.Equal(1, self.ExitCode);
        Assert.Contains("dana asked for this campaign and cannot also approve or refuse it", self.Error);

        var approved = await Decom.Run(new Dictionary<string, string> { ["DECOM_API"] = api, ["DECOM_API_KEY"] = eli }, "campaign", "approve", id, "--note", "checked the list");
        Assert.True(approved.ExitCode == 0, approved.ToString());
        Assert.Contains("Asked by    dana, approved by eli", approved.Out);

        var shown = await Eventually.Get(() => Decom.Run("campaign", "show", id, "--api", api, "--api-key", eli),
            run => run.Out.Contains($"State       {CampaignStates.Completed}"), "the campaign completed", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500),
            run => run.Out);
        Assert.Contains("Devices     4: 3 retired, 1 failed, 0 in flight, 0 not started", shown.Out);
        Assert.Contains("failed with DeviceReportedFailure: 1", shown.Out);
        Assert.Contains("checked the list", shown.Out);

        var listed = await Decom.Run("campaign", "list", "--api", api, "--api-key", dana);
        Assert.Contains(id, listed.Out);
        Assert.Contains("line-4", listed.Out);

        // Bad input is refused with a reason, before anything starts.
        var bad = await Decom.Run("campaign", "start", "--name", "x", "--devices", "cli-1,cli-1", "--reason", "r", "--pace", "0", "--api", api, "--api-key", dana);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("device cli-1 is listed twice", bad.Error);
        Assert.Contains("a pace of more than 0", bad.Error);
    }

    [GeneratedRegex(@"Campaign\s+([0-9a-f-]{36})")]
    private static partial Regex CampaignId();
}
