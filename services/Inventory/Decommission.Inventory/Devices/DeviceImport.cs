using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Decommission.Contracts;

namespace Decommission.Inventory.Devices;

/// <summary>
/// Imports devices from CSV: every row is checked, bad rows are reported by line and not imported, good rows are
/// added or updated (a device's status, hold and retirement are never changed by an import).
/// </summary>
public sealed class DeviceImport(DeviceStore devices, TimeProvider clock)
{
    public static readonly string[] Columns =
        ["deviceId", "manufacturer", "model", "serialNumber", "assetNumber", "mediaType", "owner", "site", "networkSegment", "endOfLife"];
    private static readonly string[] Required = ["deviceId", "manufacturer", "model", "serialNumber", "mediaType"];

    public async Task<DevicesImported> ImportAsync(string csv, CancellationToken cancellationToken)
    {
        var problems = new List<LineProblem>();
        var rows = new List<ImportedDevice>();
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
            while (reader.Read())
            {
                var line = reader.Parser.RawRow;
                string Field(string name) => header.FirstOrDefault(h => h.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } h ? reader.GetField(h) ?? "" : "";
                var deviceId = Field("deviceId");
                var problem = Required.Where(c => string.IsNullOrWhiteSpace(Field(c))).Select(c => $"{c} is required").FirstOrDefault();
                if (problem is null && !DeviceIdRule.IsValid(deviceId))
                    problem = $"deviceId '{deviceId}' must be {DeviceIdRule.Description}";
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
                rows.Add(new ImportedDevice(deviceId, Field("manufacturer"), Field("model"), Field("serialNumber"), Field("assetNumber"),
                    Field("mediaType"), Field("owner"), Field("site"), Field("networkSegment"), endOfLife));
            }
        }

        await devices.UpsertAsync(rows, clock.GetUtcNow(), cancellationToken);
        return new DevicesImported { Imported = rows.Count, Problems = problems };
    }
}
