namespace Decommission.Contracts;

/// <summary>Device ids are used in queue names and routing keys: a safe alphabet only (the inventory's rule, everywhere).</summary>
public static class DeviceIdRule
{
    public const int MaxLength = 128;

    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= MaxLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');

    public const string Description = "1 to 128 letters, digits, '-', '_', '.' or ':'";
}

/// <summary>
/// The inventory's devices a campaign may retire: active, not under legal hold, and matching every field given (site, model
/// and owner exactly, ignoring case; an end of life on or before <see cref="EndOfLifeBy"/>). At least one field is needed.
/// </summary>
public record DeviceSelection
{
    public string? Site { get; init; }
    public string? Model { get; init; }
    public string? Owner { get; init; }
    public DateOnly? EndOfLifeBy { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEmpty => string.IsNullOrWhiteSpace(Site) && string.IsNullOrWhiteSpace(Model) && string.IsNullOrWhiteSpace(Owner) && EndOfLifeBy is null;

    /// <summary>As a campaign's source says it: "site=Plant-A, model=TX-9".</summary>
    public override string ToString() => string.Join(", ", new[]
    {
        string.IsNullOrWhiteSpace(Site) ? null : $"site={Site.Trim()}",
        string.IsNullOrWhiteSpace(Model) ? null : $"model={Model.Trim()}",
        string.IsNullOrWhiteSpace(Owner) ? null : $"owner={Owner.Trim()}",
        EndOfLifeBy is { } by ? $"end of life by {by:yyyy-MM-dd}" : null,
    }.Where(part => part is not null));
}

/// <summary>Asks the inventory for the devices of a selection (at most <see cref="Limit"/>); answered by <see cref="SelectedDevices"/>.</summary>
public record SelectDevices
{
    public DeviceSelection Selection { get; init; } = new();
    public int Limit { get; init; } = 10_000;
}

/// <summary>The selected devices (ordered by id), how many matched in all, and how many more matched but are on legal hold.</summary>
public record SelectedDevices
{
    public int Total { get; init; }
    public int Held { get; init; }
    public IReadOnlyList<string> DeviceIds { get; init; } = [];
}
