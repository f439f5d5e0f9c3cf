using Decommission.DeviceProtocol;
using System.CommandLine;
using System.CommandLine.Invocation;

namespace Decommission.Cli;

/// <summary>
/// The whole of decom behind one call, so that tests run it in-process with their own writers and environment.
/// Every failure ends as one line on <c>error</c> and an exit code (<see cref="ExitCodes"/>), never a stack trace.
/// </summary>
public static class DecomCli
{
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) =>
        RunAsync(args, output, error, Environment.GetEnvironmentVariable);

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<string, string?> environment)
    {
        var cli = new CliContext(new CliOutput(output, error), new CliSettings.Options(), environment);
        var root = new RootCommand("Retire IoT devices and prove it: queue retirements, follow them, retry a failed one or record its device's destruction, manage the inventory, fetch and check disposal certificates.")
        {
            RetireCommands.Retire(cli),
            RetireCommands.Cancel(cli),
            RetireCommands.Retry(cli),
            StatusCommands.Status(cli),
            StatusCommands.List(cli),
            StatusCommands.Summary(cli),
            DeviceCommands.Devices(cli),
            DeviceCommands.EndOfLife(cli),
            CertificateCommands.Certificates(cli),
            DestructionCommands.Destruction(cli),
            CampaignCommands.Campaign(cli),
        };
        root.HelpName = "decom";
        foreach (var option in cli.Options.All)
            root.Options.Add(option);

        var parse = root.Parse(args);
        try
        {
            var exitCode = await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
            return parse.Action is ParseErrorAction ? ExitCodes.Usage : exitCode;
        }
        catch (CliFailure failure)
        {
            await error.WriteLineAsync($"decom: {failure.Message}");
            return failure.ExitCode;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("decom: cancelled");
            return ExitCodes.Cancelled;
        }
        catch (Exception unexpected)
        {
            // A bug of ours: still one line, with enough to report it.
            await error.WriteLineAsync($"decom: unexpected failure: {unexpected.Message.ReplaceLineEndings(" ")}");
            return ExitCodes.Failed;
        }
    }
}

/// <summary>What every command needs: where to write, and how to reach the broker and the API as configured.</summary>
public sealed class CliContext(CliOutput output, CliSettings.Options options, Func<string, string?> environment)
{
    public CliOutput Output => output;
    public CliSettings.Options Options => options;

    public CliSettings Settings(ParseResult parse) => CliSettings.Resolve(parse, options, environment);

    public Task<Broker> ConnectAsync(ParseResult parse, CancellationToken cancellationToken) => Broker.ConnectAsync(Settings(parse), cancellationToken);

    public CertificatesApiClient Api(ParseResult parse) => new(Settings(parse));

    /// <summary>A refusal or a miss that the service answered: one line on stderr, exit 1.</summary>
    public int Fail(string message)
    {
        output.Error.WriteLine($"decom: {UntrustedText.Safe(message, maxLength: 4096)}");
        return ExitCodes.Failed;
    }
}
