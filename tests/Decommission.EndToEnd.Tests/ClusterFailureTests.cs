using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Numerics;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.Testing;
using Xunit.Abstractions;
using static Decommission.EndToEnd.Tests.RunChecks;

namespace Decommission.EndToEnd.Tests;

/// <summary>
/// Issue 18's proof by failure: ops/up.sh --cluster (three RabbitMQ nodes with quorum queues, one PostgreSQL, two replicas
/// of every service) and a fleet of simulated devices over MQTT+TLS (DECOM_TEST_CLUSTER_FLEET of them: 500 for the issue), all retired with decom; mid-run one broker node's
/// Erlang VM and one replica each of the orchestrator, the device gateway, the credentials and the certificates services are
/// killed with SIGKILL and not restarted. Every device must end as its behaviour dictates, with exactly one verifying
/// certificate per disposed device, every disposed identity on the CRL, CRL numbers strictly increasing as relying parties
/// see them (sampled from both credentials replicas all along), and nothing in any _error queue.
/// </summary>
public sealed class ClusterFailureTests(ITestOutputHelper output)
{
    // Run on its own (DECOM_TEST_CLUSTER_FLEET=500 ops/test.sh tests/Decommission.EndToEnd.Tests --filter
    // FullyQualifiedName~ClusterFailure), not in the suite: on 2 cores, beside the other assemblies, the cluster alone took
    // 335 s to start, the crash recovery run's broker restart timed out and the suite ran 13 min; alone, 500 devices take
    // about ten minutes. Without the variable the test is skipped, saying so.
    private static readonly int FleetSize = int.TryParse(Environment.GetEnvironmentVariable(ClusterRunFactAttribute.Variable), out var size) ? size : 0;

    private static readonly Dictionary<DeviceBehaviour, int> Mix = new()
    {
        [DeviceBehaviour.Slow] = 20, [DeviceBehaviour.OfflineUntil] = 10, [DeviceBehaviour.NeverAnswers] = 3,
        [DeviceBehaviour.EraseFails] = 4, [DeviceBehaviour.SignsWithWrongKey] = 2, [DeviceBehaviour.ReplaysOldReceipt] = 2,
    };

    // What this test kills mid-run, by their names in ops/status.sh --pids: one broker node, one replica of four services.
    private static readonly string[] Killed = ["rabbitmq-1", "orchestrator-2", "device-gateway-2", "credentials-2", "certificates-2"];

    [ClusterRunFact]
    public async Task A_fleet_retires_on_a_cluster_through_the_loss_of_a_broker_node_and_a_replica_of_four_services()
    {
        var fleet = new DeviceFleetOptions { DeviceCount = FleetSize, Mix = Mix, IdPrefix = "sim-" }.ResolveDevices(DateTimeOffset.UtcNow)
            .ToDictionary(d => d.Id, d => d.Behaviour);
        var settings = new Dictionary<string, string>(Settings)
        {
            ["DeviceAgent__DeviceCount"] = FleetSize.ToString(),
            // On a loaded cluster a quarantine wave of 500 takes minutes (each broker user is a cluster-wide transaction): a step
            // is re-driven after 30 s, not 5, and a device has two minutes to answer (re-sent every 5 s) instead of one.
            ["Retirement__RedriveInterval"] = "00:00:30",
            ["Retirement__EraseAttempts"] = "24",
            ["Retirement__EraseDeadline"] = "00:02:00",
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Phase(string what) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F0} s  {what}");
        // Every behaviour's count, zeros too: the agent's own defaults (appsettings.json) must not add devices this test does
        // not expect (a run where they did found an "EraseFails" device Completed: it was another behaviour in the agent).
        foreach (var behaviour in Enum.GetValues<DeviceBehaviour>().Where(b => b != DeviceBehaviour.Healthy))
            settings[$"DeviceAgent__Mix__{behaviour}"] = Mix.GetValueOrDefault(behaviour).ToString();

        await using var run = await DistributedRun.UpAsync(FleetSize, settings, "--cluster");
        Phase("up: three broker nodes, PostgreSQL, two replicas of each service, the fleet");
        var work = Directory.CreateDirectory(Path.Combine(run.RunDirectory, "e2e")).FullName;
        var pids = await run.PidsAsync();
        Assert.All(["orchestrator", "inventory", "credentials", "device-gateway", "certificates"], service =>
            Assert.True(pids[$"{service}-1"] is not null && pids[$"{service}-2"] is not null, $"two replicas of {service}: {string.Join(", ", pids)}"));
        Assert.All(["rabbitmq-1", "rabbitmq-2", "rabbitmq-3"], node => Assert.NotNull(pids[node]));

        // Relying parties fetch the CRL from either credentials replica all along.
        using var sampling = new CancellationTokenSource();
        var samples = new ConcurrentQueue<(DateTimeOffset At, string From, BigInteger Number, byte[] Der)>();
        var sampler = SampleCrlsAsync(run, ["credentials-1", "credentials-2"], samples, sampling.Token);

        var inventory = Path.Combine(work, "inventory.csv");
        await File.WriteAllLinesAsync(inventory, fleet.Keys.Order().Select((id, i) => $"{id},Acme,TH-200,SN-{i},A-{i},eMMC 8 GB,Plant ops,Lyon,simulated,")
            .Prepend("deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife"));
        Ok(await Decom(run, "devices", "import", inventory, "--by", "e2e"), $"Imported {FleetSize} devices");
        var keys = Path.Combine(run.RunDirectory, "device-agent", "data", "attestation-keys.csv");
        // One broker user per device, made through the management API: on a cluster each is a cluster-wide transaction
        // (≈ 0.1 s here: 500 in about 45 s).
        Ok(await Decom(run, "devices", "enroll", keys, "--by", "e2e", "--bundles", run.Operator["DECOM_DEVICE_BUNDLES"], "--timeout", "600"),
            $"Enrolled {FleetSize} devices");
        Phase("enrolled");

        var retireCsv = Path.Combine(work, "retire.csv");
        await File.WriteAllLinesAsync(retireCsv, fleet.Keys.Order().Prepend("deviceId"));
        var retire = await Decom(run, "retire", "--csv", retireCsv, "--reason", "end of life", "--by", "e2e");
        Assert.True(retire.ExitCode == 0, retire.ToString());
        Assert.Equal(FleetSize, Tables.Count(retire.Out, "accepted (new retirements)"));
        Phase("retirements accepted");

        // Mid-run: kill -9 a broker node and one replica of four services at once; none comes back.
        var atKill = await WaitFor(run, states => states.Count(s => s.Value.State == "Completed") >= FleetSize / 5, TimeSpan.FromMinutes(4));
        Assert.True(atKill.Count(s => s.Value.State is "Completed" or "Failed") < FleetSize * 3 / 4, "the kills must happen mid-run");
        foreach (var name in Killed)
            await run.CrashAsync(name);
        pids = await run.PidsAsync();
        Assert.All(Killed, name => Assert.Null(pids[name]));
        Phase($"killed {string.Join(", ", Killed)} with {atKill.Count(s => s.Value.State == "Completed")} completed");

        var final = await WaitFor(run, states => states.Count(s => s.Value.State is "Completed" or "Failed") == FleetSize, TimeSpan.FromMinutes(6));

        Phase("every retirement ended");
        var disposed = await AssertEndingsAsync(run, fleet, final);

        // Exactly one certificate per disposed device, each verifying, served by the surviving certificates replica.
        var serials = await AssertCertificatesAsync(run, run.Url("certificates-1"), disposed);

        // The CRL (from the surviving credentials replica, checked with openssl) lists every disposed identity.
        var revoked = await RevokedSerialsAsync(run, work, run.Url("credentials-1") + "/crl");
        Assert.All(serials, s => Assert.True(revoked.Contains(Normalise(s.Value)), $"{s.Key}'s identity {s.Value} is not on the CRL"));

        // As relying parties saw it from both replicas: a CRL number never went back, and one number was always one CRL.
        await sampling.CancelAsync();
        await sampler;
        var seen = samples.OrderBy(s => s.At).ToList();
        Assert.True(seen.Select(s => s.Number).Distinct().Count() > 10, $"too few CRLs sampled: {seen.Count} samples");
        for (var i = 1; i < seen.Count; i++)
            Assert.True(seen[i].Number >= seen[i - 1].Number,
                $"CRL {seen[i].Number} from {seen[i].From} at {seen[i].At:O} after CRL {seen[i - 1].Number} from {seen[i - 1].From} at {seen[i - 1].At:O}");
        Assert.All(seen.GroupBy(s => s.Number), crl => Assert.Single(crl.Select(s => Convert.ToHexString(s.Der)).Distinct()));

        // Nothing in any _error queue: no message was refused or lost its way through the node loss.
        var queues = await run.QueuesAsync();
        var errors = queues.Where(q => q.Key.EndsWith("_error", StringComparison.Ordinal) && q.Value > 0).ToDictionary();
        Assert.True(errors.Count == 0, "messages in _error queues: " + string.Join(", ", errors));

        Phase("checked");
        run.Passed();
    }

    /// <summary>Fetches GET /crl from each replica in turn until cancelled; a replica that is gone is skipped.</summary>
    private static async Task SampleCrlsAsync(DistributedRun run, string[] replicas, ConcurrentQueue<(DateTimeOffset, string, BigInteger, byte[])> samples,
        CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var urls = replicas.ToDictionary(r => r, r => run.Url(r) + "/crl");
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var (replica, url) in urls)
            {
                try
                {
                    var der = await http.GetByteArrayAsync(url, cancellationToken);
                    CertificateRevocationListBuilder.Load(der, out var number);
                    samples.Enqueue((DateTimeOffset.UtcNow, replica, number, der));
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    // Not up yet, or killed: relying parties try the other.
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            await Task.Delay(500, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}

/// <summary>A test that runs only when DECOM_TEST_CLUSTER_FLEET names a fleet size (at least 100); skipped, saying how, otherwise.</summary>
public sealed class ClusterRunFactAttribute : FactAttribute
{
    public const string Variable = "DECOM_TEST_CLUSTER_FLEET";

    public ClusterRunFactAttribute()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(Variable), out var size) || size < 100)
            Skip = $"the cluster failure run takes ~10 min on its own: {Variable}=500 ops/test.sh tests/Decommission.EndToEnd.Tests --filter FullyQualifiedName~ClusterFailure";
    }
}
