using System.CommandLine;
using System.Globalization;

namespace Decommission.Cli;

/// <summary>
/// <c>destruction record</c> and <c>destruction witness</c>: a device that could not be erased is destroyed, and two people,
/// each with their own API key, attest it to the certificates service; the witness's step lets the retirement go on.
/// </summary>
public static class DestructionCommands
{
    public static Command Destruction(CliContext cli) =>
        new("destruction",
            "Close a Failed retirement whose device cannot be erased (the other way out is decom retry): record its physical destruction "
            + "(the person who did it), then witness it (another person, with their own API key); the retirement then goes on to a Destroy certificate.")
        {
            Record(cli), Witness(cli), Show(cli),
        };

    private static Command Record(CliContext cli)
    {
        var retirement = new Argument<Guid>("retirementId") { Description = "the failed retirement of the destroyed device" };
        var device = new Option<string>("--device") { Description = "the destroyed device's id", Required = true, HelpName = "id" };
        var method = new Option<string>("--method") { Description = "how it was destroyed, e.g. \"Shredding to 2 mm\"", Required = true, HelpName = "text" };
        var location = new Option<string>("--location") { Description = "where it was destroyed", Required = true, HelpName = "text" };
        var destroyedAt = new Option<string>("--destroyed-at") { Description = "when, ISO 8601 (default: now)", HelpName = "time" };
        var command = new Command("record",
            "Record a destruction you performed of a Failed retirement's device (as your API key's owner); it then awaits a witness.")
        {
            retirement, device, method, location, destroyedAt,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var at = DateTimeOffset.UtcNow;
            if (parse.GetValue(destroyedAt) is { } text
                && !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at))
                throw new CliFailure(ExitCodes.Usage, "--destroyed-at must be a time such as 2026-12-01T14:30:00Z");
            using var api = cli.Api(parse);
            var record = await api.RecordDestructionAsync(new NewDestruction(parse.GetRequiredValue(retirement), parse.GetRequiredValue(device).Trim(),
                parse.GetRequiredValue(method).Trim(), parse.GetRequiredValue(location).Trim(), at), cancellationToken);
            Print(cli, record);
            cli.Output.Line($"Next        another person runs: decom destruction witness {record.RecordId}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Witness(CliContext cli)
    {
        var id = new Argument<string>("recordId") { Description = "the destruction record to witness (printed by destruction record)" };
        var command = new Command("witness", "Witness a destruction someone else recorded (with your own API key); the retirement then goes on to its Destroy certificate.")
        {
            id,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var api = cli.Api(parse);
            var record = await api.WitnessDestructionAsync(parse.GetRequiredValue(id).Trim(), cancellationToken);
            Print(cli, record);
            cli.Output.Line($"Next        decom status {record.RetirementId} (the failed retirement goes on to its Destroy certificate)");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CliContext cli)
    {
        var id = new Argument<string>("recordId") { Description = "the destruction record" };
        var command = new Command("show", "Show a destruction record and whether it is witnessed.") { id };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var api = cli.Api(parse);
            Print(cli, await api.GetDestructionAsync(parse.GetRequiredValue(id).Trim(), cancellationToken));
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Print(CliContext cli, DestructionRecord record)
    {
        cli.Output.Line($"Record      {record.RecordId}");
        cli.Output.Line($"Status      {record.Status}");
        cli.Output.Line($"Retirement  {record.RetirementId}");
        cli.Output.Line($"Device      {record.DeviceId}");
        cli.Output.Line($"Method      {record.Method}");
        cli.Output.Line($"Location    {record.Location}");
        cli.Output.Line($"Destroyed   {CliOutput.Time(record.DestroyedAt)}");
        cli.Output.Line($"Performed   {record.PerformedBy}");
        cli.Output.Line($"Witness     {(record.Witness is null ? "-" : $"{record.Witness} at {CliOutput.Time(record.WitnessedAt)}")}");
    }
}
