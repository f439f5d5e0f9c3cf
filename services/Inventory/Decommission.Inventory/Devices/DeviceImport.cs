using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Dapper;
using Decommission.Contracts;

namespace Decommission.Inventory.Devices;

/// <summary>
/// Imports devices from CSV: every row is checked, bad rows are reported by line and not imported, good rows are
/// added or updated (a device's status, hold and retirement are never changed by an import).
/// </summary>
public sealed class DeviceImport(InventoryDatabase database, TimeProvider clock)
{
    public static readonly string[] Columns =
        ["deviceId", "manufacturer", "model", "serialNumber", "assetNumber", "mediaType", "owner", "site", "networkSegment", "endOfLife"];
    private static readonly string[] Required = ["deviceId", "manufacturer", "model", "serialNumber", "mediaType"];

    public async Task<DevicesImported> ImportAsync(string csv, CancellationToken cancellationToken)
    {
        var problems = new List<LineProblem>();
        var rows = new List<object>();
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture) { TrimOptions = TrimOptions.Trim, MissingFieldFound = null, BadDataFound = null };
        using (var reader = new CsvReader(new StringReader(csv), configuration))
        {
            if (!reader.Read() || !reader.ReadHeader())
                return new DevicesImported { Problems = [new LineProblem { Line = 1, Problem = $"the file is empty; expected a header {string.Join(',', Columns)}" }] };
            var header = reader.HeaderRecord!;
            var missing = Required.Where(c => !header.Contains(c, StringComparer.OrdinalIgnoreCase)).ToList();
            if (missing.Count > 0)
                return new DevicesImported { Problems = [new LineProblem { Line = 1, Problem = $"the header lacks {string.Join(", ", missing)}" }] };

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var now = clock.GetUtcNow().ToString("O");
            while (reader.Read())
            {
                var line = reader.Parser.RawRow;
                string Field(string name) => header.FirstOrDefault(h => h.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } h ? reader.GetField(h) ?? "" : "";
                var deviceId = Field("deviceId");
                var problem = Required.Where(c => string.IsNullOrWhiteSpace(Field(c))).Select(c => $"{c} is required").FirstOrDefault();
                if (problem is null && !DeviceIds.IsValid(deviceId))
                    problem = $"deviceId '{deviceId}' must be 1-{DeviceIds.MaxLength} letters, digits, '-', '_', '.' or ':'";
                DateOnly? endOfLife = null;
                if (problem is null && Field("endOfLife") is { Length: > 0 } eol)
                {
                    if (DateOnly.TryParseExact(eol, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
                        endOfLife = parsed;
                    else
                        problem = $"endOfLife '{eol}' is not a date (yyyy-MM-dd)";
                }
                if (problem is null && !seen.Add(deviceId))
                    problem = $"device {deviceId} appears twice in this file";
                if (problem is not null)
                {
                    problems.Add(new LineProblem { Line = line, Problem = problem });
                    continue;
                }
                rows.Add(new
                {
                    DeviceId = deviceId, Manufacturer = Field("manufacturer"), Model = Field("model"), SerialNumber = Field("serialNumber"),
                    AssetNumber = Field("assetNumber"), MediaType = Field("mediaType"), Owner = Field("owner"), Site = Field("site"),
                    NetworkSegment = Field("networkSegment"), EndOfLife = endOfLife?.DayNumber, Now = now,
                });
            }
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await connection.ExecuteAsync("""
            INSERT INTO devices (device_id, manufacturer, model, serial_number, asset_number, media_type, owner, site, network_segment, end_of_life, updated_at)
            VALUES (@DeviceId, @Manufacturer, @Model, @SerialNumber, @AssetNumber, @MediaType, @Owner, @Site, @NetworkSegment, @EndOfLife, @Now)
            ON CONFLICT (device_id) DO UPDATE SET
                manufacturer = excluded.manufacturer, model = excluded.model, serial_number = excluded.serial_number,
                asset_number = excluded.asset_number, media_type = excluded.media_type, owner = excluded.owner, site = excluded.site,
                network_segment = excluded.network_segment, end_of_life = excluded.end_of_life, updated_at = excluded.updated_at;
            """, rows, transaction);
        transaction.Commit();
        return new DevicesImported { Imported = rows.Count, Problems = problems };
    }
}

/// <summary>Device ids are used in queue names and routing keys: a safe alphabet only.</summary>
public static class DeviceIds
{
    public const int MaxLength = 128;

    public static bool IsValid(string id) =>
        id.Length is > 0 and <= MaxLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}
