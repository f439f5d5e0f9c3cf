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

    /// <summary>Parallel sagas on one orchestrator; each retirement's messages still run one at a time.</summary>
    [Range(1, 1024)]
    public int ConcurrentMessageLimit { get; set; } = 32;
}
