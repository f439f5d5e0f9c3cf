using Decommission.ServiceDefaults;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Decommission.Testing;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using RabbitMQ.Client;

using static Decommission.EndToEnd.Tests.RunChecks;

namespace Decommission.EndToEnd.Tests;

/// <summary>
/// Issue 7's run with crashes: ops/up.sh with a fleet of 200 simulated devices, enrolled and retired with decom;
/// the orchestrator, the device gateway and the device agent are each killed with SIGKILL mid-run and restarted, and the
/// broker node is restarted on its own data in between (issue 17). Every device must end as its behaviour dictates, with exactly one
/// verifying certificate per disposed device, every disposed device's identity on the CRL, and nothing in an _error queue
/// but the one hostile message this test sends; the restarted orchestrator keeps the run's shortened timings, and
/// ops/down.sh then reports a clean stop.
/// </summary>
public sealed partial class CrashRecoveryTests
{
    private const int FleetSize = 200;

    // The mix of the simulated fleet; the rest are healthy. Generated ids are sim-00001… in the order of DeviceBehaviour.
    private static readonly Dictionary<DeviceBehaviour, int> Mix = new()
    {
        [DeviceBehaviour.Slow] = 10, [DeviceBehaviour.OfflineUntil] = 5, [DeviceBehaviour.NeverAnswers] = 2,
        [DeviceBehaviour.EraseFails] = 2, [DeviceBehaviour.SignsWithWrongKey] = 1, [DeviceBehaviour.ReplaysOldReceipt] = 1,
    };

    [Fact]
    public async Task Two_hundred_devices_retire_through_crashes_of_the_orchestrator_and_the_gateway()
    {
        var fleet = new DeviceFleetOptions { DeviceCount = FleetSize, Mix = Mix, IdPrefix = "sim-" }.ResolveDevices(DateTimeOffset.UtcNow)
            .ToDictionary(d => d.Id, d => d.Behaviour);
        var settings = new Dictionary<string, string>(Settings)
        {
            ["DeviceAgent__DeviceCount"] = FleetSize.ToString(),
            // The end-of-life scheduler looks every 2 s (its batch of the day is a campaign: through the broker as its own user).
            ["Inventory__EndOfLifeScanInterval"] = "00:00:02",
        };
        foreach (var (behaviour, count) in Mix)
            settings[$"DeviceAgent__Mix__{behaviour}"] = count.ToString();

        await using var run = await DistributedRun.UpAsync(FleetSize, settings);
        var work = Directory.CreateDirectory(Path.Combine(run.RunDirectory, "e2e")).FullName;

        // The inventory, then enrollment from the fleet's own CSV; an enrollment with a bad row enrolls nothing.
        var inventory = Path.Combine(work, "inventory.csv");
        await File.WriteAllLinesAsync(inventory, fleet.Keys.Order().Select((id, i) => $"{id},Acme,TH-200,SN-{i},A-{i},eMMC 8 GB,Plant ops,Lyon,simulated,")
            .Prepend("deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife"));
        Ok(await Decom(run, "devices", "import", inventory, "--by", "e2e"), $"Imported {FleetSize} devices");

        var keys = Path.Combine(run.RunDirectory, "device-agent", "data", "attestation-keys.csv");
        var badKeys = Path.Combine(work, "bad-keys.csv");
        await File.WriteAllLinesAsync(badKeys, (await File.ReadAllLinesAsync(keys)).Take(3).Append("sim-99999,not-a-key,simulated"));
        var refused = await Decom(run, "devices", "enroll", badKeys, "--by", "e2e");
        Assert.True(refused.ExitCode == 1 && refused.Out.Contains("Nothing enrolled"), refused.ToString());
        // Each device comes online (MQTT over TLS, its own identity certificate) when its provisioning bundle is written.
        Ok(await Decom(run, "devices", "enroll", keys, "--by", "e2e", "--bundles", run.Operator["DECOM_DEVICE_BUNDLES"]), $"Enrolled {FleetSize} devices");

        // Twenty healthy devices reach their end of life (yesterday, as an import now says): the scheduler retires them as the
        // day's campaign, through the crashes below, while decom retires the rest.
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var endOfLife = fleet.Where(d => d.Value == DeviceBehaviour.Healthy).Select(d => d.Key).Order().Take(20).ToList();
        var endOfLifeCsv = Path.Combine(work, "end-of-life.csv");
        await File.WriteAllLinesAsync(endOfLifeCsv, endOfLife.Select(id => $"{id},Acme,TH-200,SN-{id},A-{id},eMMC 8 GB,Plant ops,Lyon,simulated,{today.AddDays(-1):yyyy-MM-dd}")
            .Prepend("deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife"));
        Ok(await Decom(run, "devices", "import", endOfLifeCsv, "--by", "e2e"), "Imported 20 devices");

        // Deliberately hostile inputs with the operator's credentials, on the saga's queue through the one exchange there the
        // operator may write (RetireDevice's): a body that is not a message at all, and a forged IdentityRevoked in a
        // RetireDevice's place. The broker refuses the operator's message claiming to come from the certificates service.
        // Over TLS, as every client of the run (ops/up.sh): the broker's certificate checked against the run's broker CA.
        var operatorBroker = OperatorConnection(run);
        await PublishGarbageAsync(operatorBroker);
        var forged = await PublishForgedIdentityRevokedAsync(operatorBroker);
        await Assert.ThrowsAnyAsync<Exception>(() => PublishAsAnotherUserAsync(operatorBroker, claimedUser: "certificates"));

        // One device that never answers is retired only after the orchestrator's restart: its retirement shows the timings
        // the restarted orchestrator applies (the run's shortened ones, or the defaults of a 2-minute attempt and 7 days).
        var late = fleet.Where(d => d.Value == DeviceBehaviour.NeverAnswers).Max(d => d.Key)!;
        var retireCsv = Path.Combine(work, "retire.csv");
        await File.WriteAllLinesAsync(retireCsv, fleet.Keys.Where(id => id != late && !endOfLife.Contains(id)).Order().Prepend("deviceId"));
        var retire = await Decom(run, "retire", "--csv", retireCsv, "--reason", "end of life", "--by", "e2e");
        Assert.True(retire.ExitCode == 0, retire.ToString());
        Assert.Equal(FleetSize - 1 - endOfLife.Count, Tables.Count(retire.Out, "accepted (new retirements)"));

        // Mid-run: kill -9 the orchestrator and restart it (as an operator does, from a shell without the run's settings);
        // then restart the broker; later kill -9 the gateway and restart it.
        await WaitFor(run, states => states.Count(s => s.Value.State == "Completed") >= 40, TimeSpan.FromMinutes(2));
        run.Crash("orchestrator");
        await run.RestartAsync("orchestrator");
        await AssertRunTimingsKeptAsync(run, late);

        var atBrokerRestart = await WaitFor(run, states => states.Count(s => s.Value.State == "Completed") >= 80, TimeSpan.FromMinutes(2));
        Assert.True(atBrokerRestart.Count(s => s.Value.State is "Completed" or "Failed") < FleetSize, "the broker must be restarted mid-run");
        await run.RestartAsync("rabbitmq");

        var atGatewayCrash = await WaitFor(run, states => states.Count(s => s.Value.State == "Completed") >= 120, TimeSpan.FromMinutes(2));
        Assert.True(atGatewayCrash.Count(s => s.Value.State is "Completed" or "Failed") < FleetSize, "the gateway must be killed mid-run");
        run.Crash("device-gateway");

        // The device agent too, while the gateway is down (so surely mid-run: nothing settles without the gateway), as a power
        // cut takes a rack of devices: they come back with the keys and data they kept on disk, and their receipts still verify
        // (a device with new keys would fail as UnregisteredKey). (Killed after 140 completions instead, a fast run had
        // sometimes settled every device before the first look.)
        run.Crash("device-agent");
        await run.RestartAsync("device-agent");
        await run.RestartAsync("device-gateway");

        var final = await WaitFor(run, states => states.Count(s => s.Value.State is "Completed" or "Failed") == FleetSize, TimeSpan.FromMinutes(4));

        // Every device ends as its behaviour dictates.
        var disposed = await AssertEndingsAsync(run, fleet, final);

        // Exactly one certificate per disposed device, each one verifying; the CRL lists every disposed identity.
        var serials = await AssertCertificatesAsync(run, run.Operator["DECOM_API"], disposed);
        var revoked = await RevokedSerialsAsync(run, work);
        Assert.All(serials, s => Assert.True(revoked.Contains(Normalise(s.Value)), $"{s.Key}'s identity {s.Value} is not on the CRL"));
        // The broker checks device certificates against that same CRL (installed as published): a disposed device's identity
        // is refused at the TLS handshake too, not only at login.
        await Eventually.True(async () => (await BrokerCrlSerialsAsync(run)).IsSupersetOf(serials.Values.Select(Normalise)),
            "the broker's fleet CRL to list every disposed identity", TimeSpan.FromSeconds(30));

        // The scheduler's campaign: one, of the twenty devices, every one retired (decom reads it with the run's auditor key).
        // (It ends at the campaign driver's next round after its last device: soon, not at once.)
        var completed = new Regex(@"end of life \d{4}-\d{2}-\d{2}\W+Completed\W+20\W+20\W+0\W");
        await Eventually.Get(() => Decom(run, "campaign", "list"), list => list.ExitCode == 0 && completed.IsMatch(list.Out),
            "the end-of-life campaign to show as completed", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), list => list.ToString());
        Assert.All(endOfLife, id => Assert.Equal("Completed", final[id].State));

        // Nothing in an _error queue but the hostile message; the device channel is drained.
        var queues = await run.QueuesAsync();
        var errors = queues.Where(q => q.Key.EndsWith("_error", StringComparison.Ordinal) && q.Value > 0).ToDictionary();
        Assert.Equal(new Dictionary<string, int> { [$"{QueueNames.RetireDevice}_error"] = 2 }, errors);
        // The forged event was refused for who sent it (the orchestrator's log names the check), and no retirement took it.
        Assert.Contains("IdentityRevoked refused: sent by broker user 'operator'", run.Log("orchestrator"));
        Assert.DoesNotContain(forged.ToString(), (await Decom(run, "list", "--limit", "1000")).Out);

        // ops/down.sh says how each process stopped: after a run like this one, every one on TERM and the broker on
        // rabbitmqctl stop, and nothing else.
        var down = await run.DownAsync();
        foreach (var process in new[] { "orchestrator", "inventory", "credentials", "device-gateway", "certificates", "device-agent", "fleet-crl-sync" })
            Assert.True(Regex.IsMatch(down, $@"(?m)^{process}: stopped cleanly on TERM "), $"{process} did not stop cleanly:\n{down}");
        Assert.Matches(@"(?m)^rabbitmq: node \S+ stopped cleanly \(rabbitmqctl stop\)$", down);
        Assert.Matches(@"(?m)^down: everything stopped cleanly ", down);
        Assert.DoesNotContain("WARNING", down);
        Assert.DoesNotContain("NOT clean", down);

        run.Passed();
    }

    /// <summary>
    /// The device's retirement, made by the restarted orchestrator, waits for its erase as the run's settings say (5 s an
    /// attempt; the default is 2 minutes): the deadline decom status shows is seconds away. That the device then fails as
    /// unreachable within the run shows the shortened overall deadline (a minute; the default is 7 days) held too.
    /// </summary>
    private static async Task AssertRunTimingsKeptAsync(DistributedRun run, string deviceId)
    {
        Ok(await Decom(run, "retire", deviceId, "--reason", "end of life", "--by", "e2e"), $"submitted for {deviceId}");
        var status = await Eventually.Get(() => Decom(run, "status", deviceId), s => Tables.Fact(s.Out, "State") == RetirementStates.Erasing,
            $"{deviceId} to be erasing", TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(1), last => last.ToString());
        var deadline = DateTimeOffset.Parse(Tables.Fact(status.Out, "Deadline")!, CultureInfo.InvariantCulture);
        var wait = deadline - DateTimeOffset.UtcNow;
        Assert.True(wait < TimeSpan.FromSeconds(30),
            $"the restarted orchestrator waits {wait} for {deviceId}'s erase attempt: it lost the run's settings (Retirement__EraseAttemptTimeout 5 s)\n{status}");
    }

    /// <summary>The serials on the fleet CRL the run's broker checks device certificates against (its own PKI directory).</summary>
    private static async Task<HashSet<string>> BrokerCrlSerialsAsync(DistributedRun run)
    {
        var state = await File.ReadAllTextAsync(Path.Combine(run.RunDirectory, "rabbitmq.state"));
        var node = Regex.Match(state, "RMQ_DIR=\"([^\"]+)\"").Groups[1].Value;
        var text = await run.ScriptAsync(TimeSpan.FromSeconds(30), "openssl", "crl", "-in", Path.Combine(node, "pki", "crl", "fleet.crl.pem"), "-text", "-noout");
        return SerialPattern().Matches(text).Select(m => Normalise(m.Groups[1].Value)).ToHashSet();
    }

    private const string RetireDeviceExchange = "Decommission.Contracts:RetireDevice";

    private static ConnectionFactory OperatorConnection(DistributedRun run)
    {
        var broker = new Uri(run.Operator["DECOM_BROKER"]);
        Assert.Equal("amqps", broker.Scheme);
        return new ConnectionFactory
        {
            Uri = broker,
            Ssl = new SslOption
            {
                Enabled = true,
                ServerName = broker.Host,
                CertificateValidationCallback = BrokerTls.ServerCertificateValidator(run.Operator["DECOM_BROKER_CA"]),
            },
        };
    }

    private static async Task PublishGarbageAsync(ConnectionFactory factory)
    {
        await using var connection = await factory.CreateConnectionAsync();
        // With confirms, a publish the operator's user may not make fails here instead of vanishing.
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        // Persistent, as the run's own messages are: the broker restarts after it, and a transient one need not outlive that
        // (sent transient, this one was gone from the _error queue after the restart).
        await channel.BasicPublishAsync(RetireDeviceExchange, "", mandatory: true,
            new BasicProperties { ContentType = "application/vnd.masstransit+json", MessageId = Guid.NewGuid().ToString(), UserId = "operator", Persistent = true },
            Encoding.UTF8.GetBytes("{ this is not a message"));
    }

    /// <summary>An IdentityRevoked envelope put where the operator may write: a well-formed message of a type it may not send.</summary>
    private static async Task<Guid> PublishForgedIdentityRevokedAsync(ConnectionFactory factory)
    {
        var retirement = Guid.NewGuid();
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        var envelope = new
        {
            messageId = Guid.NewGuid(),
            messageType = new[] { "urn:message:Decommission.Contracts:IdentityRevoked" },
            message = new IdentityRevoked { RetirementId = retirement, DeviceId = "sim-00001", CertificateSerial = "01", CrlNumber = 1, RevokedAt = DateTimeOffset.UtcNow },
            sentTime = DateTimeOffset.UtcNow,
        };
        await channel.BasicPublishAsync(RetireDeviceExchange, "", mandatory: true,
            new BasicProperties { ContentType = "application/vnd.masstransit+json", MessageId = Guid.NewGuid().ToString(), UserId = "operator", Persistent = true },
            JsonSerializer.SerializeToUtf8Bytes(envelope, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        return retirement;
    }

    /// <summary>A publish whose user-id names another broker user than the connection's: RabbitMQ refuses it.</summary>
    private static async Task PublishAsAnotherUserAsync(ConnectionFactory factory, string claimedUser)
    {
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        await channel.BasicPublishAsync(RetireDeviceExchange, "", mandatory: true,
            new BasicProperties { ContentType = "application/vnd.masstransit+json", UserId = claimedUser }, Encoding.UTF8.GetBytes("{}"));
    }
}
