using System.CommandLine;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.Cli;

/// <summary>
/// <c>devices enroll</c>: a CSV of devices, or one device, enrolled by the credentials service (queue enroll-device); with
/// <c>--bundles DIR</c>, each enrolled device's provisioning bundle is written to DIR/&lt;deviceId&gt;.json.
/// </summary>
public static class EnrollCommand
{
    public static Command Create(CliContext cli)
    {
        var file = new Argument<FileInfo>("file")
        {
            Description = "CSV with header deviceId,attestationPublicKey,networkSegment (the key: base64 SubjectPublicKeyInfo, ECDSA P-256); "
                          + "or, for one device, --device, --key and --segment",
            Arity = ArgumentArity.ZeroOrOne,
        }.AcceptExistingOnly();
        var device = new Option<string>("--device") { Description = "one device to enroll: its id", HelpName = "id" };
        var key = new Option<string>("--key") { Description = "the device's attestation public key (base64 SubjectPublicKeyInfo, ECDSA P-256)", HelpName = "base64" };
        var segment = new Option<string>("--segment") { Description = "the device's network segment", HelpName = "name" };
        var bundles = new Option<DirectoryInfo>("--bundles")
        {
            Description = "write each enrolled device's provisioning bundle to DIR/<deviceId>.json (public material: certificates, keys, addresses)",
            HelpName = "dir",
        };
        var by = RetireCommands.RequestedBy();
        var command = new Command("enroll",
            "Enroll devices from a CSV, or one device: identity certificates over their attestation keys, operational secrets, "
            + "broker identities, and the keys registered for receipt verification. All rows or none.") { file, device, key, segment, bundles, by };
        command.Validators.Add(result =>
        {
            var one = new[] { device, key, segment }.Count(o => result.GetResult(o) is not null);
            if (result.GetResult(file) is { Tokens.Count: > 0 } == (one > 0) || one is > 0 and < 3)
                result.AddError("Give a CSV file, or --device, --key and --segment for one device.");
        });

        command.SetAction(async (parse, cancellationToken) =>
        {
            var requestedBy = parse.GetRequiredValue(by).Trim();
            var csv = parse.GetValue(file);
            await using var broker = await cli.ConnectAsync(parse, cancellationToken);
            IReadOnlyList<DeviceEnrolled> enrolled;
            DeviceProvisioning? provisioning;
            string source;
            if (csv is not null)
            {
                var text = await File.ReadAllTextAsync(csv.FullName, cancellationToken);
                var answer = await broker.Request<EnrollDevicesFromCsv, DevicesEnrolled, EnrollmentRejected>(QueueNames.EnrollDevice,
                    new EnrollDevicesFromCsv { Csv = text, RequestedBy = requestedBy }, cancellationToken);
                if (Rejected(cli, answer, csv.Name) is { } failed)
                    return failed;
                answer.Is(out Response<DevicesEnrolled>? all);
                (enrolled, provisioning, source) = (all!.Message.Devices, all.Message.Provisioning, $"{all.Message.Devices.Count} devices from {csv.Name}");
            }
            else
            {
                var answer = await broker.Request<EnrollDevice, DeviceEnrolled, EnrollmentRejected>(QueueNames.EnrollDevice, new EnrollDevice
                {
                    DeviceId = parse.GetRequiredValue(device).Trim(), AttestationPublicKey = parse.GetRequiredValue(key).Trim(),
                    NetworkSegment = parse.GetRequiredValue(segment).Trim(), RequestedBy = requestedBy,
                }, cancellationToken);
                if (Rejected(cli, answer, parse.GetRequiredValue(device).Trim()) is { } failed)
                    return failed;
                answer.Is(out Response<DeviceEnrolled>? one);
                (enrolled, provisioning, source) = ([one!.Message], one.Message.Provisioning, one.Message.DeviceId);
            }
            cli.Output.Line($"Enrolled {source}.");

            if (parse.GetValue(bundles) is not { } directory)
                return ExitCodes.Success;
            if (provisioning is null)
                return cli.Fail("the credentials service does not provision devices (no Credentials:Provisioning:MqttServers): no bundles written");
            ProvisioningBundles.Write(directory.FullName, enrolled, provisioning);
            cli.Output.Line($"Wrote {enrolled.Count} provisioning bundles to {directory.FullName}.");
            return ExitCodes.Success;
        });
        return command;
    }

    private static int? Rejected<T>(CliContext cli, Response<T, EnrollmentRejected> answer, string what) where T : class
    {
        if (!answer.Is(out Response<EnrollmentRejected>? rejected))
            return null;
        cli.Output.Line($"Nothing enrolled from {what}.");
        return DeviceCommands.Problems(cli, rejected!.Message.Problems, "problems");
    }
}
