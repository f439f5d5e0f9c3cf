using System.Diagnostics;
using System.Globalization;
using Decommission.Bench;
using Decommission.Contracts;
using MassTransit;

// Usage (run.sh does this): Program <operator-broker-uri> <bench-broker-uri> <enrollment-csv> <devices> <ceiling-messages>
// Prints "key value" lines for run.sh's table: the broker's publish→consume ceiling, the latency of single retirements
// on an idle system, and the rate of a bulk retirement of every other device through the real services.
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: <operator-broker-uri> <bench-broker-uri> <enrollment-csv> <devices> <ceiling-messages>");
    return 2;
}
var operatorBroker = new Uri(args[0]);
var benchBroker = new Uri(args[1]);
var keysCsv = args[2];
var devices = int.Parse(args[3], CultureInfo.InvariantCulture);
var ceilingMessages = int.Parse(args[4], CultureInfo.InvariantCulture);
const int LatencySamples = 50;
const int WarmUp = 5; // the first retirements pay for JIT and connection set-up in every service

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

var busControl = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(operatorBroker));
await busControl.StartAsync();
try
{
    var ids = (await File.ReadAllLinesAsync(keysCsv)).Skip(1).Select(line => line.Split(',')[0]).Take(devices).ToList();

    // The fleet into the inventory and enrolled.
    var inventory = "deviceId,manufacturer,model,serialNumber,assetNumber,mediaType,owner,site,networkSegment,endOfLife\n"
        + string.Join("\n", ids.Select((id, i) => $"{id},Acme,TH-200,SN-{i},A-{i},eMMC,Ops,Lyon,simulated,"));
    var clock = Stopwatch.StartNew();
    await busControl.CreateRequestClient<ImportDevices>(new Uri($"queue:{QueueNames.Inventory}"), RequestTimeout.After(m: 5))
        .GetResponse<DevicesImported>(new ImportDevices { Csv = inventory, RequestedBy = "bench" });
    var enrolled = await busControl.CreateRequestClient<EnrollDevicesFromCsv>(new Uri($"queue:{QueueNames.EnrollDevice}"), RequestTimeout.After(m: 10))
        .GetResponse<DevicesEnrolled, EnrollmentRejected>(new EnrollDevicesFromCsv { Csv = await File.ReadAllTextAsync(keysCsv), RequestedBy = "bench" });
    if (!enrolled.Is(out Response<DevicesEnrolled>? _))
        throw new InvalidOperationException("enrollment was rejected");
    Console.Error.WriteLine($"bench: {ids.Count} devices imported and enrolled in {clock.Elapsed.TotalSeconds:F1} s");
    await Task.Delay(TimeSpan.FromSeconds(5)); // the gateway registers the attestation keys

    var retire = busControl.CreateRequestClient<RetireDevice>(new Uri($"queue:{QueueNames.RetireDevice}"), RequestTimeout.After(m: 2));
    var status = busControl.CreateRequestClient<GetRetirementStatus>(new Uri($"queue:{QueueNames.RetirementStatus}"), RequestTimeout.After(s: 30));
    var list = busControl.CreateRequestClient<ListRetirements>(new Uri($"queue:{QueueNames.RetirementStatus}"), RequestTimeout.After(m: 1));

    // 2. Latency of one retirement on an idle system: request → Completed, one device at a time.
    var latencies = new List<double>();
    foreach (var (id, i) in ids.Take(WarmUp + LatencySamples).Select((id, i) => (id, i)))
    {
        var started = Stopwatch.StartNew();
        var submitted = await retire.GetResponse<RetirementSubmitted>(Retire(id));
        while (true)
        {
            var answer = await status.GetResponse<RetirementStatus, RetirementNotFound>(new GetRetirementStatus { RetirementId = submitted.Message.RetirementId });
            if (answer.Is(out Response<RetirementStatus>? s) && s.Message.State is "Completed" or "Failed")
                break;
            await Task.Delay(2);
        }
        if (i >= WarmUp)
            latencies.Add(started.Elapsed.TotalMilliseconds);
    }
    latencies.Sort();
    Console.WriteLine($"latency_p50_ms {Percentile(latencies, 0.50):F0}");
    Console.WriteLine($"latency_p99_ms {Percentile(latencies, 0.99):F0}");

    // 3. Bulk: every other device at once, as an end-of-life date would; rate from the first request to the last completion.
    var bulk = ids.Skip(WarmUp + LatencySamples).ToList();
    clock.Restart();
    var send = await busControl.GetSendEndpoint(new Uri($"queue:{QueueNames.RetireDevice}"));
    await Parallel.ForEachAsync(bulk, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) => await send.Send(Retire(id), ct));
    var sentIn = clock.Elapsed.TotalSeconds;
    var done = 0;
    var peakInFlight = 0;
    while (done < ids.Count)
    {
        await Task.Delay(1000);
        var rows = (await list.GetResponse<RetirementList>(new ListRetirements { Limit = 100_000 })).Message.Retirements;
        done = rows.Count(r => r.State is "Completed" or "Failed");
        peakInFlight = Math.Max(peakInFlight, rows.Count - done);
        Console.Error.WriteLine($"bench: {clock.Elapsed.TotalSeconds:F0} s: {done}/{ids.Count} finished, {rows.Count - done} in flight");
        if (clock.Elapsed > TimeSpan.FromMinutes(30))
            throw new TimeoutException("the bulk retirement did not finish within 30 minutes");
    }
    var failed = (await list.GetResponse<RetirementList>(new ListRetirements { State = "Failed", Limit = 100_000 })).Message.Retirements.Count;
    Console.WriteLine($"bulk_retirements {bulk.Count}");
    Console.WriteLine($"bulk_failed {failed}");
    Console.WriteLine($"bulk_sent_seconds {sentIn:F1}");
    Console.WriteLine($"bulk_seconds {clock.Elapsed.TotalSeconds:F1}");
    Console.WriteLine($"bulk_retirements_per_second {bulk.Count / clock.Elapsed.TotalSeconds:F1}");
    Console.WriteLine($"bulk_peak_in_flight {peakInFlight}");
    return 0;
}
finally
{
    await busControl.StopAsync();
}

static RetireDevice Retire(string id) =>
    new() { DeviceId = id, Reason = "benchmark", RequestedBy = "bench", RequestedAt = DateTimeOffset.UtcNow };

static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
