using System.ComponentModel.DataAnnotations;

namespace Decommission.Orchestrator;

/// <summary>Where the orchestrator keeps its data and how often it looks for due deadlines; bound from the "Orchestrator" section.</summary>
public sealed class OrchestratorOptions
{
    public const string Section = "Orchestrator";

    [Required]
    public string DatabasePath { get; set; } = "data/orchestrator/orchestrator.db";

    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A deadline event that changed nothing (lost, or the saga was busy) is raised again after this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan ReraiseAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A campaign of more devices than this waits for a second person's approval before it starts any.</summary>
    [Range(0, 10_000_000)]
    public int CampaignApprovalAbove { get; set; } = 100;

    /// <summary>The most devices one campaign may hold.</summary>
    [Range(1, 10_000_000)]
    public int CampaignMaxDevices { get; set; } = 100_000;

    /// <summary>How often the campaign driver looks at running campaigns at the least (it wakes earlier for a paced start).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan CampaignInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A started device whose RetireDevice was not confirmed sent (a crash, the broker gone) is sent again after this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CampaignResendAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Parallel sagas on one orchestrator; each retirement's messages still run one at a time.</summary>
    [Range(1, 1024)]
    public int ConcurrentMessageLimit { get; set; } = 32;
}
