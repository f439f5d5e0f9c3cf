using System.CommandLine;
using Decommission.Contracts;
using MassTransit;
using Spectre.Console;

namespace Decommission.Cli;

/// <summary>
/// <c>devices</c> (import, hold, release: the inventory service on queue inventory; enroll: the credentials service on
/// queue enroll-device) and <c>eol preview</c>.
/// </summary>
public static class DeviceCommands
{
    public static Command Devices(CliContext cli) =>
        new("devices", "Manage the inventory and the fleet: import devices, enroll them, put them under legal hold or release them.")
        {
            Import(cli), EnrollCommand.Create(cli), Hold(cli), Release(cli),
        };

    public static Command EndOfLife(CliContext cli)
    {
        var days = new Option<int>("--days") { Description = "look this many days ahead", HelpName = "n", Required = true };
        days.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 36_500)
                result.AddError("--days must be between 0 and 36500.");
        });
        var limit = new Option<int>("--limit") { Description = "list at most this many devices", HelpName = "n", DefaultValueFactory = _ => 1000 };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 100_000)
                result.AddError("--limit must be between 1 and 100000.");
        });
        var preview = new Command("preview", "List the devices the end-of-life scheduler would retire within the next days, without retiring them.") { days, limit };

        preview.SetAction(async (parse, cancellationToken) =>
        {
            var within = parse.GetValue(days);
            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            var due = await broker.Request<PreviewEndOfLife, EndOfLifePreview>(QueueNames.Inventory,
                new PreviewEndOfLife { Days = within, Limit = parse.GetValue(limit) }, cancellationToken);

            cli.Output.Line(due.Devices.Count < due.Total
                ? $"{due.Total} devices reach end of life within {within} days; the first {due.Devices.Count}:"
                : $"{due.Total} devices reach end of life within {within} days.");
            if (due.Devices.Count == 0)
                return ExitCodes.Success;
            var table = CliOutput.Table("Device", "End of life", "Site", "Model", "Scheduler's campaign");
            foreach (var device in due.Devices)
                CliOutput.Row(table, device.DeviceId, device.EndOfLife.ToString("yyyy-MM-dd"), device.Site, device.Model, device.CampaignId?.ToString() ?? "not yet");
            cli.Output.Render(table);
            return ExitCodes.Success;
        });
        return new Command("eol", "Devices reaching their end-of-life dates.") { preview };
    }

    private static Command Import(CliContext cli)
    {
        var file = new Argument<FileInfo>("file")
        {
            Description = "CSV with header deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife",
        }.AcceptExistingOnly();
        var by = RetireCommands.RequestedBy();
        var command = new Command("import", "Import or update devices from a CSV; bad rows are reported by line and not imported.") { file, by };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var csv = parse.GetRequiredValue(file);
            var text = await File.ReadAllTextAsync(csv.FullName, cancellationToken);
            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            var imported = await broker.Request<ImportDevices, DevicesImported>(QueueNames.Inventory,
                new ImportDevices { Csv = text, RequestedBy = parse.GetRequiredValue(by).Trim() }, cancellationToken);

            cli.Output.Line($"Imported {imported.Imported} devices from {csv.Name}.");
            return Problems(cli, imported.Problems, "rows not imported");
        });
        return command;
    }

    /// <summary>Success when there are no problems; otherwise a table of them by CSV line, and Failed.</summary>
    internal static int Problems(CliContext cli, IReadOnlyList<LineProblem> problems, string title)
    {
        if (problems.Count == 0)
            return ExitCodes.Success;
        var table = CliOutput.Table("Line", "Problem");
        table.Title = new TableTitle($"{problems.Count} {title}");
        foreach (var problem in problems.OrderBy(p => p.Line))
            CliOutput.Row(table, problem.Line.ToString(), problem.Problem);
        cli.Output.Render(table);
        return ExitCodes.Failed;
    }

    private static Command Hold(CliContext cli)
    {
        var device = DeviceId();
        var reason = new Option<string>("--reason") { Description = "why the device must be kept (e.g. the case number)", HelpName = "text", Required = true };
        var by = RetireCommands.RequestedBy();
        var command = new Command("hold", "Put a device under legal hold: it may not be retired until released.") { device, reason, by };
        command.SetAction((parse, cancellationToken) => SetHoldAsync(cli, parse, new SetLegalHold
        {
            DeviceId = parse.GetRequiredValue(device).Trim(), Hold = true, Reason = parse.GetRequiredValue(reason).Trim(),
            RequestedBy = parse.GetRequiredValue(by).Trim(),
        }, cancellationToken));
        return command;
    }

    private static Command Release(CliContext cli)
    {
        var device = DeviceId();
        var reason = new Option<string>("--reason") { Description = "why the hold ends", HelpName = "text" };
        var by = RetireCommands.RequestedBy();
        var command = new Command("release", "Release a device's legal hold.") { device, reason, by };
        command.SetAction((parse, cancellationToken) => SetHoldAsync(cli, parse, new SetLegalHold
        {
            DeviceId = parse.GetRequiredValue(device).Trim(), Hold = false, Reason = parse.GetValue(reason)?.Trim() ?? "",
            RequestedBy = parse.GetRequiredValue(by).Trim(),
        }, cancellationToken));
        return command;
    }

    private static async Task<int> SetHoldAsync(CliContext cli, ParseResult parse, SetLegalHold request, CancellationToken cancellationToken)
    {
        await using var broker = await cli.ConnectAsync(parse, cancellationToken);
        var hold = await broker.Request<SetLegalHold, LegalHoldSet>(QueueNames.Inventory, request, cancellationToken);
        if (!hold.Found)
            return cli.Fail($"no device {request.DeviceId} in the inventory");
        cli.Output.Line(hold.Hold
            ? $"{hold.DeviceId} is under legal hold{(string.IsNullOrEmpty(hold.Reason) ? "" : $": {hold.Reason}")}."
            : $"{hold.DeviceId} is not under legal hold.");
        return ExitCodes.Success;
    }

    private static Argument<string> DeviceId() => new("deviceId") { Description = "the device" };
}
