using System.ComponentModel.DataAnnotations;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>Timing of a retirement, bound from the "Retirement" section (AWS IoT Jobs style: attempts, per-attempt timeout, overall deadline).</summary>
public sealed class RetirementSettings
{
    public const string Section = "Retirement";

    /// <summary>How many sends of the erase command wait ever longer (the timeout times the multiplier each time); after them
    /// the command is re-sent at the longest wait until it expires. Attempts never fail a retirement: only its expiry does.</summary>
    [Range(1, 100)]
    public int EraseAttempts { get; set; } = 5;

    /// <summary>How long the first attempt waits for a receipt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "7.00:00:00")]
    public TimeSpan EraseAttemptTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Each further attempt waits this many times longer than the one before.</summary>
    [Range(1.0, 10.0)]
    public double EraseBackoffMultiplier { get; set; } = 2.0;

    /// <summary>After this, counted from the first erase attempt, the command expires and the device is unreachable; until
    /// then the command waits for an offline device, however many attempts have passed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "365.00:00:00")]
    public TimeSpan EraseDeadline { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a step waits for its service before sending its command again (covers a command lost between
    /// saving and publishing). Longer than a fleet retirement's queues take to drain: with 30 s, 10,000 retirements at
    /// once were all re-sent while still queued, and the flood stalled the run (docs/BENCHMARKS.md).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "1.00:00:00")]
    public TimeSpan RedriveInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest wait between two re-sends of the same step command.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "7.00:00:00")]
    public TimeSpan MaxRedriveInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long the attempt waits for a receipt: growing up to the last of <see cref="EraseAttempts"/>, then the same.</summary>
    public TimeSpan AttemptTimeout(int attempt) =>
        TimeSpan.FromTicks((long)(EraseAttemptTimeout.Ticks * Math.Pow(EraseBackoffMultiplier, Math.Clamp(attempt, 1, EraseAttempts) - 1)));

    public TimeSpan RedriveDelay(int redrives) =>
        TimeSpan.FromTicks(Math.Min(MaxRedriveInterval.Ticks, (long)(RedriveInterval.Ticks * Math.Pow(2, Math.Min(redrives, 20)))));
}
