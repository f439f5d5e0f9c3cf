using System.CommandLine;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.Cli;

/// <summary><c>retire</c> (one device, or every device of a CSV) and <c>cancel</c>: commands to the retirement saga on queue retire-device.</summary>
public static class RetireCommands
{
    public static Command Retire(CliContext cli)
    {
        var device = new Argument<string?>("deviceId") { Description = "the device to retire (or give --csv)", Arity = ArgumentArity.ZeroOrOne };
        var csv = new Option<FileInfo>("--csv") { Description = "retire every device of this CSV (header deviceId, optional reason)", HelpName = "file" }
            .AcceptExistingOnly();
        var reason = new Option<string>("--reason") { Description = "why; for --csv, the reason of rows that give none", HelpName = "text" };
        var by = RequestedBy();
        var command = new Command("retire", "Retire a device, or every device of a CSV file.") { device, csv, reason, by };

        command.Validators.Add(result =>
        {
            var hasDevice = !string.IsNullOrWhiteSpace(result.GetValue(device));
            var hasCsv = result.GetResult(csv) is not null;
            if (hasDevice == hasCsv)
                result.AddError("Give either a deviceId or --csv FILE.");
            else if (hasDevice && string.IsNullOrWhiteSpace(result.GetValue(reason)))
                result.AddError("Option '--reason' is required when retiring one device.");
        });

        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(csv) is { } file)
                return await BulkRetirement.RunAsync(cli, parse, file, parse.GetValue(reason), parse.GetRequiredValue(by), cancellationToken);

            var message = new RetireDevice
            {
                DeviceId = parse.GetRequiredValue(device)!.Trim(),
                Reason = parse.GetRequiredValue(reason).Trim(),
                RequestedBy = parse.GetRequiredValue(by).Trim(),
                RequestedAt = DateTimeOffset.UtcNow,
            };
            if (RetirementRows.ProblemWith(message.DeviceId, message.Reason) is { } problem)
                return cli.Fail(problem);

            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            var submitted = await broker.Request<RetireDevice, RetirementSubmitted>(QueueNames.RetireDevice, message, cancellationToken);
            cli.Output.Line(submitted.AlreadyActive
                ? $"{submitted.DeviceId} is already being retired: retirement {submitted.RetirementId} ({submitted.State})."
                : $"Retirement {submitted.RetirementId} submitted for {submitted.DeviceId} ({submitted.State}).");
            return ExitCodes.Success;
        });
        return command;
    }

    public static Command Cancel(CliContext cli)
    {
        var retirement = new Argument<Guid>("retirementId") { Description = "the retirement to cancel" };
        var by = RequestedBy();
        var reason = new Option<string>("--reason") { Description = "why it is cancelled", HelpName = "text" };
        var command = new Command("cancel", "Cancel a retirement; accepted until its erase command has been sent.") { retirement, by, reason };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var id = parse.GetValue(retirement);
            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            var response = await broker.Request<CancelRetirement, RetirementCancelled, RetirementCommandRefused, RetirementNotFound>(QueueNames.RetireDevice,
                new CancelRetirement { RetirementId = id, RequestedBy = parse.GetRequiredValue(by).Trim(), Reason = parse.GetValue(reason)?.Trim() ?? "" },
                cancellationToken);

            if (response.Is(out Response<RetirementCancelled>? cancelled))
            {
                cli.Output.Line($"Retirement {id} of {cancelled.Message.DeviceId} cancelled.");
                return ExitCodes.Success;
            }
            if (response.Is(out Response<RetirementCommandRefused>? refused))
                return cli.Fail($"retirement {id} cannot be cancelled in state {refused.Message.State}: {refused.Message.Reason}");
            return cli.Fail($"no retirement {id}");
        });
        return command;
    }

    internal static Option<string> RequestedBy() =>
        new("--by") { Description = "who asks (recorded in the audit trail)", HelpName = "name", Required = true };
}
