using System.Globalization;
using System.Security.Cryptography;
using Decommission.Certificates.Issuing;
using Decommission.Contracts;
using Decommission.Credentials.Revocation;
using Decommission.DeviceAgent;
using Decommission.DeviceGateway.Commands;
using MassTransit;
using Spectre.Console;

namespace Decommission.Host;

/// <summary>
/// The embedded demo: enrolls a simulated fleet (a few devices offline for a while, one whose erase fails, one that signs
/// with the wrong key, one that replays an old receipt, one that never answers), retires all of it, and shows the outcome.
/// </summary>
public static class Demo
{
    private static readonly string[] Finished = [.. RetirementStates.Settled];

    public static async Task<int> RunAsync(string[] args)
    {
        var count = int.TryParse(Option(args, "--devices"), CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 25;
        var data = Option(args, "--data") ?? Path.Combine("decommission-demo", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        using var log = DemoLog.Open(data);
        var builder = AllInOne.CreateBuilder(args, data, new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Information",
            ["Telemetry:Console"] = "true",
            ["Telemetry:ConsoleMetricsInterval"] = "00:00:05",
            ["Logging:Console:FormatterOptions:ColorBehavior"] = "Disabled",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "None",
            ["Logging:LogLevel:MassTransit"] = "Warning",
            ["Orchestrator:SweepInterval"] = "00:00:00.200",
            ["Retirement:EraseAttempts"] = "3",
            ["Retirement:EraseAttemptTimeout"] = "00:00:02",
            ["Retirement:EraseBackoffMultiplier"] = "1",
            ["Retirement:EraseDeadline"] = "00:00:10",
            ["Retirement:RedriveInterval"] = "00:00:05",
            ["Inventory:EndOfLifeScanInterval"] = "00:00:00",
            ["Urls"] = "http://127.0.0.1:0",
        });
        await using var app = builder.Build();
        await app.StartAsync();

        var fleet = app.Services.GetRequiredService<InProcessDeviceFleet>();
        // Each device keeps its keys, data and erase journal on disk in the demo's data directory, as the device agent's do.
        await SimulatedFleet.AddAsync(app.Services, FleetSpecs(count, DateTimeOffset.UtcNow), Path.Combine(data, "devices"));

        var bus = app.Services.GetRequiredService<IBus>();
        AnsiConsole.MarkupLine($"[bold]Decommission demo[/]: {count} devices, data in [blue]{Markup.Escape(Path.GetFullPath(data))}[/]");
        var imported = await SimulatedFleet.EnrollAsync(app.Services, "demo");
        AnsiConsole.MarkupLine($"Imported {imported} devices into the inventory and enrolled them (identity certificates, secrets, attestation keys).");
        var retirements = await Retire(bus, fleet);
        var states = await Follow(bus, retirements);
        Summarize(app.Services, fleet, retirements, states, data);
        await app.StopAsync();
        // Last, so it is what the terminal ends with: where everything the services said went.
        AnsiConsole.MarkupLine($"Log (services, spans, metrics): [blue]{Markup.Escape(log.Path)}[/]");
        return 0;
    }

    private static IReadOnlyList<DeviceSpec> FleetSpecs(int count, DateTimeOffset now)
    {
        DeviceBehaviour[] hostile =
        [
            DeviceBehaviour.OfflineUntil, DeviceBehaviour.OfflineUntil, DeviceBehaviour.EraseFails, DeviceBehaviour.SignsWithWrongKey,
            DeviceBehaviour.ReplaysOldReceipt, DeviceBehaviour.NeverAnswers, DeviceBehaviour.Slow,
        ];
        return Enumerable.Range(1, count).Select(i =>
        {
            var behaviour = count - i < hostile.Length ? hostile[count - i] : DeviceBehaviour.Healthy;
            return new DeviceSpec
            {
                Id = $"demo-{i:D3}", Behaviour = behaviour,
                OfflineUntil = behaviour == DeviceBehaviour.OfflineUntil ? now.AddSeconds(3) : null,
                Delay = behaviour == DeviceBehaviour.Slow ? TimeSpan.FromSeconds(1) : null,
            };
        }).ToList();
    }

    private static async Task<Dictionary<string, Guid>> Retire(IBus bus, InProcessDeviceFleet fleet)
    {
        var client = bus.CreateRequestClient<RetireDevice>(new Uri($"queue:{QueueNames.RetireDevice}"));
        var retirements = new Dictionary<string, Guid>();
        foreach (var device in fleet.Devices.Values.OrderBy(d => d.Id))
        {
            var submitted = await client.GetResponse<RetirementSubmitted>(new RetireDevice
            {
                DeviceId = device.Id, Reason = "end of life (demo)", RequestedBy = "demo operator", RequestedAt = DateTimeOffset.UtcNow,
            });
            retirements[device.Id] = submitted.Message.RetirementId;
        }
        AnsiConsole.MarkupLine($"Asked to retire {retirements.Count} devices.");
        return retirements;
    }

    private static async Task<Dictionary<Guid, RetirementSummary>> Follow(IBus bus, Dictionary<string, Guid> retirements)
    {
        // Asked of the orchestrator like any operator would: its status queue, not its tables.
        var client = bus.CreateRequestClient<ListRetirements>(new Uri($"queue:{QueueNames.RetirementStatus}"));
        var states = new Dictionary<Guid, RetirementSummary>();
        await AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask("Retiring", maxValue: retirements.Count);
                var until = DateTime.UtcNow.AddMinutes(2);
                while (DateTime.UtcNow < until)
                {
                    var list = await client.GetResponse<RetirementList>(new ListRetirements { Limit = 10_000 });
                    states = list.Message.Retirements.ToDictionary(r => r.RetirementId);
                    var finished = retirements.Values.Count(id => states.TryGetValue(id, out var s) && Finished.Contains(s.State));
                    task.Value = finished;
                    task.Description = $"Retiring ({finished}/{retirements.Count} finished)";
                    if (finished == retirements.Count)
                        break;
                    await Task.Delay(250);
                }
            });
        return states;
    }

    private static void Summarize(IServiceProvider services, InProcessDeviceFleet fleet, Dictionary<string, Guid> retirements,
        Dictionary<Guid, RetirementSummary> states, string data)
    {
        var issuer = services.GetRequiredService<CertificateIssuer>();
        var table = new Table().AddColumns("Device", "Behaviour", "State", "Attempts", "Failure reason / certificate");
        foreach (var (deviceId, id) in retirements.OrderBy(r => r.Key))
        {
            var state = states.GetValueOrDefault(id);
            var certificate = state?.State == RetirementStates.Completed ? CertificateIssuer.CertificateIdFor(id) + ".pdf" : null;
            table.AddRow(deviceId, fleet.Devices[deviceId].Behaviour.ToString(), state?.State ?? "(unknown)",
                (state?.EraseAttempts ?? 0).ToString(CultureInfo.InvariantCulture),
                Markup.Escape(certificate ?? state?.FailureReason ?? ""));
        }
        AnsiConsole.Write(table);

        var byState = retirements.Values.GroupBy(id => states.GetValueOrDefault(id)?.State ?? "(unfinished)").ToDictionary(g => g.Key, g => g.Count());
        AnsiConsole.MarkupLine($"[green]Retired: {byState.GetValueOrDefault(RetirementStates.Completed)}[/]   [red]Failed: {byState.GetValueOrDefault(RetirementStates.Failed)}[/]"
            + (byState.GetValueOrDefault("(unfinished)") > 0 ? $"   [yellow]Unfinished: {byState["(unfinished)"]}[/]" : ""));
        foreach (var reason in states.Values.Where(s => retirements.ContainsValue(s.RetirementId) && s.State == RetirementStates.Failed).GroupBy(s => s.FailureReason))
            AnsiConsole.MarkupLine($"  failed with {Markup.Escape(reason.Key ?? "")}: {reason.Count()}");
        AnsiConsole.MarkupLine($"Certificates: [blue]{Markup.Escape(issuer.CertificateDirectory)}[/] (.pdf signed, .json with the PDF's SHA-256)");
        AnsiConsole.MarkupLine($"CRL:          [blue]{Markup.Escape(services.GetRequiredService<CrlPublisher>().CrlPath)}[/] (verify: openssl crl -inform DER -in … -CAfile {Markup.Escape(Path.Combine(Path.GetFullPath(data), "ca", "fleet-ca.pem"))})");
    }

    private static string? Option(string[] args, string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
}
