using System.ComponentModel.DataAnnotations;

namespace Decommission.Inventory;

/// <summary>Bound from the "Inventory" section.</summary>
public sealed class InventoryOptions
{
    public const string Section = "Inventory";

    [Required]
    public string DatabasePath { get; set; } = "data/inventory/inventory.db";

    /// <summary>How often the end-of-life scheduler looks for due devices; zero turns it off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan EndOfLifeScanInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Devices claimed and sent per scan.</summary>
    [Range(1, 100_000)]
    public int EndOfLifeBatchSize { get; set; } = 1000;

    /// <summary>A claim whose RetireDevice was not confirmed sent after this is sent again (same message id).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ResendUnsentAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The pace of the scheduler's campaigns, devices per minute.</summary>
    [Range(0.01, 60_000)]
    public double EndOfLifePacePerMinute { get; set; } = 60;

    /// <summary>A scheduler's campaign is aborted when this percentage of its finished devices failed (0: never)...</summary>
    [Range(0, 100)]
    public double EndOfLifeAbortPercent { get; set; } = 20;

    /// <summary>... once at least this many have finished.</summary>
    [Range(1, 100_000)]
    public int EndOfLifeAbortAfter { get; set; } = 20;

    /// <summary>Who the scheduler's retirements are requested by.</summary>
    [Required]
    public string SchedulerName { get; set; } = "end-of-life scheduler";
}
