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
            var messageId = NewId.NextGuid();
            var submitted = await broker.Request<RetireDevice, RetirementSubmitted>(QueueNames.RetireDevice, message, messageId, cancellationToken);
            cli.Output.Line(StartedBy(submitted, messageId)
                ? $"Retirement {submitted.RetirementId} submitted for {submitted.DeviceId} ({submitted.State})."
                : $"{submitted.DeviceId} is already being retired: retirement {submitted.RetirementId} ({submitted.State}).");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// Whether the answer's retirement is the one this request started. The orchestrator's retirement id is the request's
    /// message id, so "already active" with decom's own message id is its request redelivered (say, after the orchestrator
    /// crashed before answering), not another retirement of the device.
    /// </summary>
    public static bool StartedBy(RetirementSubmitted answer, Guid messageId) => !answer.AlreadyActive || answer.RetirementId == messageId;

    public static Command Retry(CliContext cli)
    {
        var retirement = new Argument<Guid>("retirementId") { Description = "the failed retirement to resume (decom list --state Failed)" };
        var by = RequestedBy();
        var reason = new Option<string>("--reason") { Description = "why it is retried, e.g. \"device back online\" (recorded in the audit trail)", HelpName = "text" };
        var command = new Command("retry",
            "Resume a Failed retirement from the step it failed in (a fresh erase command, the quarantine or the certificate). "
            + "A device that cannot be erased is destroyed instead: see decom destruction record.") { retirement, by, reason };
        reason.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>()?.Trim().Length > RetirementRows.MaxReasonLength)
                result.AddError($"--reason is longer than {RetirementRows.MaxReasonLength} characters.");
        });

        command.SetAction(async (parse, cancellationToken) =>
        {
            var id = parse.GetValue(retirement);
            var message = new RetryRetirement { RetirementId = id, RequestedBy = parse.GetRequiredValue(by).Trim(), Reason = parse.GetValue(reason)?.Trim() ?? "" };
            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            var response = await broker.Request<RetryRetirement, RetirementRetried, RetirementCommandRefused, RetirementNotFound>(QueueNames.RetireDevice,
                message, cancellationToken);

            if (response.Is(out Response<RetirementRetried>? retried))
            {
                cli.Output.Line($"Retirement {id} of {retried.Message.DeviceId} retried by {retried.Message.RequestedBy}: resumed in {retried.Message.ResumedIn}.");
                return ExitCodes.Success;
            }
            if (response.Is(out Response<RetirementCommandRefused>? refused))
                return cli.Fail($"retirement {id} cannot be retried in state {refused.Message.State}: {refused.Message.Reason}");
            return cli.Fail($"no retirement {id}");
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

    internal static Option<string> RequestedBy()
    {
        var by = new Option<string>("--by") { Description = "who asks (recorded in the audit trail)", HelpName = "name", Required = true };
        // The orchestrator's limit (RetireDeviceValidation); an audit trail entry by nobody is no record.
        by.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
                result.AddError("--by must name who asks.");
            else if (result.GetValueOrDefault<string>()!.Trim().Length > RetirementRows.MaxDeviceIdLength)
                result.AddError($"--by is longer than {RetirementRows.MaxDeviceIdLength} characters.");
        });
        return by;
    }
}
