using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace Decommission.Cli;

/// <summary>A CSV row that can be sent as a RetireDevice; Line is its line in the file.</summary>
public sealed record RetirementRow(int Line, string DeviceId, string Reason);

/// <summary>A CSV row that cannot be sent, and why.</summary>
public sealed record InvalidRow(int Line, string DeviceId, string Problem);

/// <summary>Reads retirement CSVs: header <c>deviceId</c>, optional <c>reason</c> (case-insensitive, any order, other columns ignored).</summary>
public static class RetirementRows
{
    // The orchestrator's limits (RetireDeviceValidation): a row beyond them would only land in retire-device_error.
    public const int MaxDeviceIdLength = 200;
    public const int MaxReasonLength = 800;

    public static (IReadOnlyList<RetirementRow> Rows, IReadOnlyList<InvalidRow> Invalid) Read(TextReader reader, string? defaultReason, string fileName)
    {
        var rows = new List<RetirementRow>();
        var invalid = new List<InvalidRow>();
        var malformedLines = new HashSet<int>();
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            TrimOptions = TrimOptions.Trim,
            BadDataFound = args => malformedLines.Add(args.Context.Parser?.Row ?? 0),
        };
        using var parser = new CsvParser(reader, configuration);

        if (!parser.Read())
            throw new CliFailure(ExitCodes.Failed, $"{fileName} is empty: its first line must be a header with a deviceId column");
        var header = parser.Record ?? [];
        var deviceColumn = Array.FindIndex(header, h => string.Equals(h.Trim(), "deviceId", StringComparison.OrdinalIgnoreCase));
        var reasonColumn = Array.FindIndex(header, h => string.Equals(h.Trim(), "reason", StringComparison.OrdinalIgnoreCase));
        if (deviceColumn < 0)
            throw new CliFailure(ExitCodes.Failed, $"{fileName}: the first line must be a header with a deviceId column (and optionally reason)");

        while (parser.Read())
        {
            var record = parser.Record ?? [];
            var line = parser.Row;
            var deviceId = Field(record, deviceColumn);
            var reason = Field(record, reasonColumn);
            if (string.IsNullOrEmpty(reason))
                reason = defaultReason?.Trim() ?? "";

            var problem = malformedLines.Contains(line) ? "malformed CSV (a stray or unbalanced quote)" : ProblemWith(deviceId, reason);
            if (problem is null)
                rows.Add(new RetirementRow(line, deviceId, reason));
            else
                invalid.Add(new InvalidRow(line, deviceId, problem));
        }
        return (rows, invalid);
    }

    /// <summary>Why a device and reason cannot be sent as a RetireDevice, or null.</summary>
    public static string? ProblemWith(string deviceId, string reason) =>
        string.IsNullOrWhiteSpace(deviceId) ? "deviceId is empty"
        : deviceId.Length > MaxDeviceIdLength ? $"deviceId is longer than {MaxDeviceIdLength} characters"
        : string.IsNullOrWhiteSpace(reason) ? "no reason: give a reason column or --reason"
        : reason.Length > MaxReasonLength ? $"reason is longer than {MaxReasonLength} characters"
        : null;

    private static string Field(string[] record, int index) => index >= 0 && index < record.Length ? record[index].Trim() : "";
}
