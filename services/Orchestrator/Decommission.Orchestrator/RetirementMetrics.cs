using System.Diagnostics.Metrics;
using Decommission.Contracts;
using Decommission.Orchestrator.StateMachines;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Decommission.Orchestrator;

/// <summary>
/// The orchestrator's meter: retirements started, completed and failed (by reason and step), the time spent in each step,
/// and the erase commands ordered. Counted as the saga makes its transitions; a message retried after its transition could
/// not be saved (rare: one message per retirement at a time) counts again. Campaigns too: created (by where their devices
/// came from), ended (by how), devices started, and how many run now.
/// </summary>
public sealed class RetirementMetrics
{
    public const string MeterName = "Decommission.Orchestrator";

    // From a quick quarantine to an erase that waits for a device to come back online.
    private static readonly double[] StepBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400];

    private readonly Counter<long> _started;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _eraseAttempts;
    private readonly Histogram<double> _stepDuration;
    private readonly Counter<long> _campaignsCreated;
    private readonly Counter<long> _campaignsEnded;
    private readonly Counter<long> _campaignDevicesStarted;
    private int _campaignsRunning;

    public RetirementMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _started = meter.CreateCounter<long>("decommission.retirements.started", "{retirement}", "Retirements opened (a repeated request for an open one is not counted).");
        _completed = meter.CreateCounter<long>("decommission.retirements.completed", "{retirement}", "Retirements completed with a disposal certificate.");
        _failed = meter.CreateCounter<long>("decommission.retirements.failed", "{retirement}", "Retirements failed or refused, by reason and by the step they failed in.");
        _eraseAttempts = meter.CreateCounter<long>("decommission.erase.attempts", "{attempt}", "Erase commands ordered from the device gateway, first attempts and retries.");
        _stepDuration = meter.CreateHistogram("decommission.retirement.step.duration", "s", "Time a retirement spent in a step, by step and the state it moved on to.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepBuckets });
        _campaignsCreated = meter.CreateCounter<long>("decommission.campaigns.created", "{campaign}",
            "Campaigns created, by where their devices came from (list, selection, end-of-life) and whether they wait for approval.");
        _campaignsEnded = meter.CreateCounter<long>("decommission.campaigns.ended", "{campaign}", "Campaigns ended, by their final state (Completed, Aborted, Refused).");
        _campaignDevicesStarted = meter.CreateCounter<long>("decommission.campaign.devices.started", "{device}", "Devices a campaign started, at its pace.");
        meter.CreateObservableGauge("decommission.campaigns.running", () => Volatile.Read(ref _campaignsRunning), "{campaign}",
            "Campaigns running at the campaign driver's last round.");
    }

    public void CampaignCreated(string source, bool awaitsApproval) =>
        _campaignsCreated.Add(1, new KeyValuePair<string, object?>("source", source.StartsWith("selection", StringComparison.Ordinal) ? "selection"
            : source.StartsWith("end-of-life", StringComparison.Ordinal) ? "end-of-life" : "list"), new KeyValuePair<string, object?>("approval", awaitsApproval));

    public void CampaignEnded(string state) => _campaignsEnded.Add(1, new KeyValuePair<string, object?>("state", state));

    public void CampaignDeviceStarted() => _campaignDevicesStarted.Add(1);

    public void CampaignsRunning(int count) => Volatile.Write(ref _campaignsRunning, count);

    public void Started() => _started.Add(1);

    public void Completed() => _completed.Add(1);

    public void Failed(string reason, string step) =>
        _failed.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("step", step));

    public void EraseAttempt() => _eraseAttempts.Add(1);

    public void StepFinished(string step, string next, TimeSpan duration) =>
        _stepDuration.Record(Math.Max(0, duration.TotalSeconds), new KeyValuePair<string, object?>("step", step), new KeyValuePair<string, object?>("next", next));
}

public static class RetirementMetricsExtensions
{
    /// <summary>The meter, the saga's state observer that feeds it, and the send observer that counts erase orders.</summary>
    public static IHostApplicationBuilder AddRetirementMetrics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RetirementMetrics>();
        // Before the bus (registered later), so the observer is connected before the first message.
        builder.Services.AddHostedService<RetirementMetricsConnector>();
        builder.Services.AddSendObserver<EraseOrderCounter>();
        return builder;
    }
}

/// <summary>Connects <see cref="RetirementMetricsObserver"/> to the machine MassTransit uses, without the machine knowing.</summary>
internal sealed class RetirementMetricsConnector(RetirementStateMachine machine, RetirementMetrics metrics, TimeProvider clock) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        machine.ConnectStateObserver(new RetirementMetricsObserver(metrics, clock));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// Counts erase orders when they reach the broker (the saga's outbox delivers them after its state is saved, as the stored
/// body: known by its message type).
/// </summary>
internal sealed class EraseOrderCounter(RetirementMetrics metrics) : ISendObserver
{
    private static readonly string EraseDeviceType = MessageUrn.ForTypeString<EraseDevice>();

    public Task PreSend<T>(SendContext<T> context) where T : class => Task.CompletedTask;

    public Task PostSend<T>(SendContext<T> context) where T : class
    {
        if (context.Message is EraseDevice || context.SupportedMessageTypes.Contains(EraseDeviceType))
            metrics.EraseAttempt();
        return Task.CompletedTask;
    }

    public Task SendFault<T>(SendContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
