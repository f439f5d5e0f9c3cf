using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using Decommission.Orchestrator.StateMachines;
using Decommission.Testing;
using System.Text.Json;
using System.Text.Json.Nodes;
using MassTransit;

namespace Decommission.Orchestrator.Tests;

/// <summary>Correlation is declared once, by the messages (CorrelatedBy&lt;Guid&gt;), and the declaration reaches no envelope and no exchange.</summary>
public sealed class RetirementStateMachineCorrelationTests
{
    private static async Task<IReadOnlyList<Type>> MessagesTheMachineTakes()
    {
        await using var host = await OrchestratorHost.StartAsync();
        var machine = (RetirementStateMachine)host.Services.GetService(typeof(RetirementStateMachine))!;
        return [.. machine.Events.Select(e => e.GetType().GetInterfaces()
            .Single(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(Event<>)).GetGenericArguments()[0])];
    }

    [Fact]
    public async Task Every_message_the_machine_takes_but_the_request_is_correlated_by_its_retirement_id()
    {
        var messages = await MessagesTheMachineTakes();

        Assert.Equal(14, messages.Count);
        foreach (var type in messages.Where(t => t != typeof(RetireDevice)))
        {
            var id = NewId.NextGuid();
            var message = Activator.CreateInstance(type)!;
            type.GetProperty("RetirementId")!.SetValue(message, id);
            var correlated = Assert.IsAssignableFrom<CorrelatedBy<Guid>>(message);
            Assert.Equal(id, correlated.CorrelationId);
        }
    }

    [Fact]
    public async Task A_retirement_messages_envelope_names_only_its_own_type_so_sender_checks_and_broker_permissions_see_nothing_new()
    {
        var messages = await MessagesTheMachineTakes();

        // The envelope's messageType list (and the exchanges MassTransit binds for a publish) is this list.
        foreach (var type in messages)
            Assert.Equal([MessageUrn.ForTypeString(type)], MessageTypeCache.GetMessageTypeNames(type));
    }

    [Fact]
    public async Task Every_message_the_machine_takes_waits_for_its_retirements_previous_one()
    {
        var messages = await MessagesTheMachineTakes();
        await using var host = await OrchestratorHost.StartAsync();

        // The bus's own description of its pipes: which message types pass a partitioner before the saga.
        var probe = JsonSerializer.SerializeToNode(host.Harness.Bus.GetProbeResult())!;
        var partitioned = Descendants(probe)
            .Where(n => n["filterType"]?.GetValue<string>() == "dispatchPipe"
                && Descendants(n).Any(f => f["filterType"]?.GetValue<string>() == "partition"))
            .Select(n => n["outputType"]!.GetValue<string>())
            .ToHashSet();

        Assert.All(messages, type => Assert.Contains($"MassTransit.ConsumeContext<{type.FullName}>", partitioned));
    }

    private static IEnumerable<JsonObject> Descendants(JsonNode node) => node switch
    {
        JsonObject o => o.SelectMany(p => p.Value is null ? [] : Descendants(p.Value)).Prepend(o),
        JsonArray a => a.SelectMany(e => e is null ? [] : Descendants(e)),
        _ => [],
    };

    [Fact]
    public async Task A_published_retirement_message_carries_only_its_own_type()
    {
        var s = new Scenario(await OrchestratorHost.StartAsync());
        await using var _ = s.Host;
        var id = NewId.NextGuid();

        await s.Quarantined(id, "dev-envelope");

        Assert.True(await s.Host.Harness.Published.Any<DeviceQuarantined>(m => m.Context.Message.RetirementId == id));
        var published = s.Host.Harness.Published.Select<DeviceQuarantined>(m => m.Context.Message.RetirementId == id).First();
        Assert.Equal(["urn:message:Decommission.Contracts:DeviceQuarantined"], published.Context.SupportedMessageTypes);
        Assert.Equal(id, published.Context.CorrelationId);
    }

    [Fact]
    public async Task A_command_for_no_retirement_is_answered_not_found()
    {
        await using var host = await OrchestratorHost.StartAsync();
        var unknown = NewId.NextGuid();

        var cancel = await host.Harness.GetRequestClient<CancelRetirement>()
            .GetResponse<RetirementCancelled, RetirementNotFound>(new CancelRetirement { RetirementId = unknown, RequestedBy = "carol", Reason = "typo" });
        var retry = await host.Harness.GetRequestClient<RetryRetirement>()
            .GetResponse<RetirementRetried, RetirementNotFound>(new RetryRetirement { RetirementId = unknown, RequestedBy = "dave" });

        Assert.True(cancel.Is(out Response<RetirementNotFound>? notFound));
        Assert.Equal(unknown, notFound!.Message.RetirementId);
        Assert.True(retry.Is(out Response<RetirementNotFound>? _));
        Assert.Null(await host.Store.LoadAsync(unknown));
    }

    [Fact]
    public void The_open_retirement_query_repeats_the_indexs_predicate_word_for_word_on_both_engines()
    {
        var scripts = typeof(OrchestratorDatabase).Assembly.GetManifestResourceNames().Where(n => n.EndsWith("0001_retirements.sql")).ToList();

        Assert.Equal(2, scripts.Count);
        Assert.All(scripts, script =>
        {
            using var stream = typeof(OrchestratorDatabase).Assembly.GetManifestResourceStream(script)!;
            Assert.Contains(RetirementQueries.IsOpen, new StreamReader(stream).ReadToEnd());
        });
    }
}
