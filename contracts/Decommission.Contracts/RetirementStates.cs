namespace Decommission.Contracts;

/// <summary>The states a retirement passes through, as RetirementStatus.State and RetirementSummary.State name them.</summary>
public static class RetirementStates
{
    public const string Requested = nameof(Requested);
    public const string Quarantining = nameof(Quarantining);
    public const string Erasing = nameof(Erasing);
    public const string RevokingIdentity = nameof(RevokingIdentity);
    public const string Certifying = nameof(Certifying);
    public const string Completed = nameof(Completed);
    public const string Refused = nameof(Refused);
    public const string Cancelled = nameof(Cancelled);
    public const string Failed = nameof(Failed);

    /// <summary>Every state, in the order of the workflow, then its other ends.</summary>
    public static readonly IReadOnlyList<string> All = [Requested, Quarantining, Erasing, RevokingIdentity, Certifying, Completed, Failed, Refused, Cancelled];

    /// <summary>The states a device's retirement is over in; any other state holds the device (one open retirement per device).</summary>
    public static readonly IReadOnlyList<string> Closed = [Completed, Refused, Cancelled];

    /// <summary>The states in which nothing more happens unless an operator acts (closed, or failed).</summary>
    public static readonly IReadOnlyList<string> Settled = [Completed, Failed, Refused, Cancelled];
}
