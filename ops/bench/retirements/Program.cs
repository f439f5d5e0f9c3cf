using System.Diagnostics;
using System.Globalization;
using Decommission.Bench;
using Decommission.Contracts;
using Decommission.ServiceDefaults;
using MassTransit;

// Usage (run.sh does this): Program <operator-broker-uri> <bench-broker-uri> <enrollment-csv> <devices> <in-flight> <ceiling-messages>
// with DECOM_BENCH_PIDS="name=pid …" (the processes whose CPU time and memory are measured) and DECOM_BENCH_CLK_TCK.
// Prints "key value" lines for run.sh's table: the broker's publish→consume ceiling, the latency of single retirements
// on an idle system, the rate of a bulk retirement of the rest of the first <devices> devices through the real services
// with the CPU time each process spent per retirement, then the memory of each process while <in-flight> further
// retirements are submitted at once.
if (args.Length != 6)
{
    Console.Error.WriteLine("usage: <operator-broker-uri> <bench-broker-uri> <enrollment-csv> <devices> <in-flight> <ceiling-messages>");
    return 2;
}
var operatorBroker = new Uri(args[0]);
var benchBroker = new Uri(args[1]);
var keysCsv = args[2];
var devices = int.Parse(args[3], CultureInfo.InvariantCulture);
var inFlight = int.Parse(args[4], CultureInfo.InvariantCulture);
var ceilingMessages = int.Parse(args[5], CultureInfo.InvariantCulture);
var processes = new Processes(Environment.GetEnvironmentVariable("DECOM_BENCH_PIDS") ?? "",
    int.Parse(Environment.GetEnvironmentVariable("DECOM_BENCH_CLK_TCK") ?? "100", CultureInfo.InvariantCulture));
// DECOM_BENCH_LATENCY_SAMPLES (default 100) and DECOM_BENCH_WARM_UP (default 200): a short run lowers both, since
// single retirements take ≈ 2 s each since issue 16.
var latencySamples = int.Parse(Environment.GetEnvironmentVariable("DECOM_BENCH_LATENCY_SAMPLES") ?? "100", CultureInfo.InvariantCulture);
// The first retirements after the services start run partly unoptimised code: .NET's tiered JIT recompiles a method
// with full optimisation only after it has been called 30 times, and a retirement crosses hundreds of methods in seven
// processes. Latency is measured after the warm-up, and its first 50 are reported apart as the cold start.
var warmUp = int.Parse(Environment.GetEnvironmentVariable("DECOM_BENCH_WARM_UP") ?? "200", CultureInfo.InvariantCulture);
var coldCount = Math.Min(50, warmUp);

// 1. The ceiling: raw MassTransit publish → consume on the same node, same serializer, durable queue, default prefetch.
{
    var received = 0;
    var all = new TaskCompletionSource();
    var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
    {
        cfg.Host(benchBroker);
        cfg.ReceiveEndpoint("bench-ceiling", e =>
        {
            e.PrefetchCount = 64;
            e.Handler<BenchPing>(_ =>
            {
                if (Interlocked.Increment(ref received) == ceilingMessages)
                    all.TrySetResult();
                return Task.CompletedTask;
            });
        });
    });
    await bus.StartAsync();
    var clock = Stopwatch.StartNew();
    await Parallel.ForEachAsync(Enumerable.Range(0, ceilingMessages), new ParallelOptions { MaxDegreeOfParallelism = 32 },
        async (i, ct) => await bus.Publish(new BenchPing { Sequence = i }, ct));
    await all.Task.WaitAsync(TimeSpan.FromMinutes(5));
    Console.WriteLine($"ceiling_messages_per_second {ceilingMessages / clock.Elapsed.TotalSeconds:F0}");
    await bus.StopAsync();
}

// As decom does: requests to their types' exchanges (the operator's user holds no right on the services' queues), stamped
// with the operator's user, which the services check against the bus catalogue.
var busControl = Bus.Factory.CreateUsingRabbitMq(cfg =>
{
    // Over TLS, as every client of the distributed run: the broker CA from operator.env.
    cfg.Host(operatorBroker, host => BrokerTls.Configure(host, operatorBroker, Environment.GetEnvironmentVariable("DECOM_BROKER_CA")));
    cfg.StampSender(SenderVerification.UserOf(operatorBroker));
    cfg.OverrideDefaultBusEndpointQueueName(SenderVerification.BusEndpointName(SenderVerification.UserOf(operatorBroker)));
});
await busControl.StartAsync();
Uri TypeExchange<T>() where T : class =>
    busControl.Topology.TryGetPublishAddress<T>(out var address) ? address : throw new InvalidOperationException($"no exchange for {typeof(T).Name}");
try
{
    var ids = (await File.ReadAllLinesAsync(keysCsv)).Skip(1).Select(line => line.Split(',')[0]).ToList();
    if (ids.Count != devices + inFlight)
        throw new InvalidOperationException($"the fleet has {ids.Count} devices, expected {devices} + {inFlight}");

    // The fleet into the inventory and enrolled.
    var inventory = "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n"
        + string.Join("\n", ids.Select((id, i) => $"{id},Acme,TH-200,SN-{i},A-{i},eMMC,Ops,Lyon,simulated,"));
    var clock = Stopwatch.StartNew();
    await busControl.CreateRequestClient<ImportDevices>(TypeExchange<ImportDevices>(), RequestTimeout.After(m: 5))
        .GetResponse<DevicesImported>(new ImportDevices { Csv = inventory, RequestedBy = "bench" });
    var enrolled = await busControl.CreateRequestClient<EnrollDevicesFromCsv>(TypeExchange<EnrollDevicesFromCsv>(), RequestTimeout.After(m: 10))
        .GetResponse<DevicesEnrolled, EnrollmentRejected>(new EnrollDevicesFromCsv { Csv = await File.ReadAllTextAsync(keysCsv), RequestedBy = "bench" });
    if (!enrolled.Is(out Response<DevicesEnrolled>? devicesEnrolled) || devicesEnrolled.Message.Provisioning is not { } provisioning)
        throw new InvalidOperationException("enrollment was rejected, or came without provisioning");
    // As decom devices enroll --bundles does: each device comes online (MQTT over TLS) when its bundle is there.
    Decommission.Cli.ProvisioningBundles.Write(Environment.GetEnvironmentVariable("DECOM_DEVICE_BUNDLES")
        ?? throw new InvalidOperationException("DECOM_DEVICE_BUNDLES is not set (operator.env)"), devicesEnrolled.Message.Devices, provisioning);
    Console.Error.WriteLine($"bench: {ids.Count} devices imported and enrolled in {clock.Elapsed.TotalSeconds:F1} s");
    await Task.Delay(TimeSpan.FromSeconds(5)); // the gateway registers the attestation keys; the devices connect

    var retire = busControl.CreateRequestClient<RetireDevice>(TypeExchange<RetireDevice>(), RequestTimeout.After(m: 2));
    var status = busControl.CreateRequestClient<GetRetirementStatus>(TypeExchange<GetRetirementStatus>(), RequestTimeout.After(s: 30));
    var count = busControl.CreateRequestClient<CountRetirements>(TypeExchange<CountRetirements>(), RequestTimeout.After(m: 1));
    var send = await busControl.GetSendEndpoint(TypeExchange<RetireDevice>());

    // 2. Latency of one retirement on an idle system: request → Completed, one device at a time.
    var latencies = new List<double>();
    var cold = new List<double>();
    foreach (var (id, i) in ids.Take(warmUp + latencySamples).Select((id, i) => (id, i)))
    {
        var started = Stopwatch.StartNew();
        var submitted = await retire.GetResponse<RetirementSubmitted>(Retire(id));
        while (true)
        {
            var answer = await status.GetResponse<RetirementStatus, RetirementNotFound>(new GetRetirementStatus { RetirementId = submitted.Message.RetirementId });
            if (answer.Is(out Response<RetirementStatus>? s) && s.Message.State is RetirementStates.Completed or RetirementStates.Failed)
                break;
            await Task.Delay(2);
        }
        if (i >= warmUp)
            latencies.Add(started.Elapsed.TotalMilliseconds);
        else if (i < coldCount)
            cold.Add(started.Elapsed.TotalMilliseconds);
    }
    latencies.Sort();
    cold.Sort();
    Console.WriteLine($"latency_cold_p50_ms {Percentile(cold, 0.50):F0}");
    Console.WriteLine($"latency_cold_p99_ms {Percentile(cold, 0.99):F0}");
    Console.WriteLine($"latency_p50_ms {Percentile(latencies, 0.50):F0}");
    Console.WriteLine($"latency_p99_ms {Percentile(latencies, 0.99):F0}");
    Console.WriteLine($"latency_samples {latencies.Count}");
    Console.WriteLine($"latency_warm_up {warmUp}");

    // 3. Bulk: the rest of the first <devices> at once, as an end-of-life date would; rate from the first request to the
    //    last completion, and the CPU time each process spent on it.
    var bulk = ids.Take(devices).Skip(warmUp + latencySamples).ToList();
    var cpuBefore = processes.CpuSeconds();
    clock.Restart();
    await Parallel.ForEachAsync(bulk, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) => await send.Send(Retire(id), ct));
    var sentIn = clock.Elapsed.TotalSeconds;
    var (peakInFlight, _) = await WaitForAll(devices, "bulk");
    var bulkSeconds = clock.Elapsed.TotalSeconds;
    var cpuAfter = processes.CpuSeconds();
    var failed = await Count(count, RetirementStates.Failed);
    Console.WriteLine($"bulk_retirements {bulk.Count}");
    Console.WriteLine($"bulk_failed {failed}");
    Console.WriteLine($"bulk_sent_seconds {sentIn:F1}");
    Console.WriteLine($"bulk_seconds {bulkSeconds:F1}");
    Console.WriteLine($"bulk_retirements_per_second {bulk.Count / bulkSeconds:F1}");
    Console.WriteLine($"bulk_peak_in_flight {peakInFlight}");
    foreach (var (name, seconds) in cpuAfter)
        Console.WriteLine($"cpu_ms_per_retirement_{name} {1000 * (seconds - cpuBefore[name]) / bulk.Count:F2}");
    Console.WriteLine($"cpu_busy_percent {100 * cpuAfter.Sum(c => c.Value - cpuBefore[c.Key]) / bulkSeconds / Environment.ProcessorCount:F0}");

    // 4. Memory with <in-flight> retirements at once: every process's resident set sampled while they are in flight.
    if (inFlight > 0)
    {
        clock.Restart();
        await Parallel.ForEachAsync(ids.Skip(devices), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) => await send.Send(Retire(id), ct));
        var (peak, rss) = await WaitForAll(ids.Count, "in flight");
        Console.WriteLine($"inflight_retirements {inFlight}");
        Console.WriteLine($"inflight_peak {peak}");
        Console.WriteLine($"inflight_seconds {clock.Elapsed.TotalSeconds:F1}");
        Console.WriteLine($"inflight_failed {await Count(count, RetirementStates.Failed) - failed}");
        foreach (var (name, megabytes) in rss)
            Console.WriteLine($"inflight_peak_rss_mb_{name} {megabytes:F0}");
    }

    // Polls the counts four times a second (a phase's end is known to within 250 ms) until <total> retirements have
    // ended; the peak number in flight and each process's largest resident set seen meanwhile.
    // A phase that finishes nothing for two minutes has stalled: it is reported as such (with what finished) rather than
    // waited out.
    async Task<(int PeakInFlight, Dictionary<string, double> PeakRssMb)> WaitForAll(int total, string phase)
    {
        var peak = 0;
        var rss = new Dictionary<string, double>();
        var phaseClock = Stopwatch.StartNew();
        var (lastEnded, lastProgress) = (-1, Stopwatch.StartNew());
        var reported = -1;
        while (true)
        {
            foreach (var (name, megabytes) in processes.ResidentMegabytes())
                rss[name] = Math.Max(rss.GetValueOrDefault(name), megabytes);
            var byState = (await count.GetResponse<RetirementCounts>(new CountRetirements())).Message.ByState;
            var ended = byState.GetValueOrDefault(RetirementStates.Completed) + byState.GetValueOrDefault(RetirementStates.Failed);
            var open = byState.Values.Sum() - ended;
            peak = Math.Max(peak, open);
            if (ended >= total || phaseClock.Elapsed.TotalSeconds >= reported + 1)
            {
                reported = (int)phaseClock.Elapsed.TotalSeconds;
                Console.Error.WriteLine($"bench: {phase} {phaseClock.Elapsed.TotalSeconds:F0} s: {ended}/{total} finished, {open} in flight");
            }
            if (ended >= total)
                return (peak, rss);
            if (ended != lastEnded)
                (lastEnded, lastProgress) = (ended, Stopwatch.StartNew());
            else if (lastProgress.Elapsed > TimeSpan.FromMinutes(2))
            {
                Console.WriteLine($"{phase.Replace(' ', '_')}_stalled {ended}/{total}: {string.Join(", ", byState.Select(s => $"{s.Key} {s.Value}"))}");
                return (peak, rss);
            }
            if (phaseClock.Elapsed > TimeSpan.FromMinutes(30))
                throw new TimeoutException($"{phase}: the retirements did not finish within 30 minutes");
            await Task.Delay(250);
        }
    }
    return 0;
}
finally
{
    await busControl.StopAsync();
}

static async Task<int> Count(IRequestClient<CountRetirements> count, string state) =>
    (await count.GetResponse<RetirementCounts>(new CountRetirements())).Message.ByState.GetValueOrDefault(state);

static RetireDevice Retire(string id) =>
    new() { DeviceId = id, Reason = "benchmark", RequestedBy = "bench", RequestedAt = DateTimeOffset.UtcNow };

static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
