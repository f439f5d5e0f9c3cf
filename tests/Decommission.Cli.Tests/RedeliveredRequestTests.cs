using System.Text.Json;
using System.Text.Json.Nodes;
using Decommission.Contracts;
using RabbitMQ.Client;

namespace Decommission.Cli.Tests;

/// <summary>
/// After a crash the broker redelivers decom's RetireDevice: the orchestrator answers "already active" with the retirement that
/// request itself started (its message id), and decom reports it as submitted. The crash is played on the real broker and
/// orchestrator: decom's request is held in retire-device while no orchestrator runs; the orchestrator then takes it once with
/// nobody to answer (it saved the retirement, and the crash lost its answer), and the broker redelivers the held original.
/// The orchestrator's outbox would deliver an answer a crash kept from leaving, and its inbox takes a redelivery of a request
/// it answered as done: what reaches decom as "already active" is a redelivery that comes after the inbox has forgotten the
/// request (Outbox:RememberDeliveredFor, shortened here so the test need not wait hours).
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RedeliveredRequestTests
{
    private static string Broker => RabbitMqNode.Uri.ToString();

    private static readonly Dictionary<string, string?> ForgetsAtOnce = new()
    {
        ["Outbox:RememberDeliveredFor"] = "00:00:00",
        ["Outbox:SweepInterval"] = "00:00:00.100",
    };

    private static Task WaitUntilForgotten(OrchestratorHost host, Guid messageId) =>
        Eventually.True(() =>
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={host.DatabasePath};Mode=ReadOnly");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM inbox_state WHERE message_id = $id;";
            command.Parameters.AddWithValue("$id", messageId.ToString());
            return (long)command.ExecuteScalar()! == 0;
        }, $"the orchestrator's inbox to forget request {messageId}", TimeSpan.FromSeconds(15));

    [Fact]
    public async Task A_redelivered_request_is_reported_as_submitted_and_another_retirement_of_the_device_as_already_being_retired()
    {
        var device = $"dev-redelivered-{Guid.NewGuid():N}";
        await using var held = await HeldRequests.OpenAsync();

        var retire = Decom.Run("retire", device, "--reason", "eol", "--by", "alice", "--broker", Broker);
        var request = Assert.Single(await held.TakeAsync(1));
        Assert.Equal(device, request.DeviceId);

        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(_ => { }, ForgetsAtOnce);
        await held.DeliverUnansweredCopyAsync(request);
        await host.WaitForState(request.MessageId, RetirementStates.Requested);
        await WaitUntilForgotten(host, request.MessageId);
        await held.AssertUnanswered(retire);
        await held.RedeliverAsync();

        var run = await retire;
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal($"Retirement {request.MessageId} submitted for {device} (Requested).", run.Out.Trim());

        // A request of its own for a device another retirement holds is still told so.
        var second = await Decom.Run("retire", device, "--reason", "eol", "--by", "bob", "--broker", Broker);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal($"{device} is already being retired: retirement {request.MessageId} (Requested).", second.Out.Trim());
    }

    [Fact]
    public async Task A_csv_row_whose_request_is_redelivered_counts_as_accepted_and_a_duplicate_row_as_already_active()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (twice, once) = ($"csv-redelivered-{suffix}", $"csv-fresh-{suffix}");
        var file = Path.Combine(Path.GetTempPath(), $"decom-{Guid.NewGuid():N}.csv");
        await File.WriteAllLinesAsync(file, ["deviceId,reason", $"{twice},eol", $"{once},eol", $"{twice},eol"]);
        await using var held = await HeldRequests.OpenAsync();

        var retire = Decom.Run("retire", "--csv", file, "--by", "bob", "--broker", Broker);
        var requests = await held.TakeAsync(3);
        Assert.Equal([once, twice, twice], requests.Select(r => r.DeviceId).Order());
        // One of the two rows for the same device was taken before the crash: its retirement exists, its answer was lost.
        var crashed = requests.First(r => r.DeviceId == twice);

        await using var host = await OrchestratorHost.StartOnRabbitMqAsync(_ => { }, ForgetsAtOnce);
        await held.DeliverUnansweredCopyAsync(crashed);
        await host.WaitForState(crashed.MessageId, RetirementStates.Requested);
        await WaitUntilForgotten(host, crashed.MessageId);
        await held.AssertUnanswered(retire);
        await held.RedeliverAsync();

        var run = await retire;
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(2, Tables.Count(run.Out, "accepted (new retirements)"));
        Assert.Equal(1, Tables.Count(run.Out, "already active"));
        var alreadyActive = Assert.Single(Tables.Rows(run.Out), r => r.Length == 3 && r[1] == twice);
        Assert.Equal($"{crashed.MessageId} (Requested)", alreadyActive[2]);
    }

    /// <summary>A RetireDevice decom sent, as the broker holds it.</summary>
    private sealed record HeldRequest(ulong DeliveryTag, Guid MessageId, string DeviceId, byte[] Body, IReadOnlyBasicProperties Properties);

    /// <summary>
    /// The broker's side of the crash, on a channel of its own: decom's requests wait in retire-device, unacknowledged, until
    /// <see cref="RedeliverAsync"/> hands them back to the queue as a broker does when its consumer's connection dies.
    /// </summary>
    private sealed class HeldRequests : IAsyncDisposable
    {
        private readonly IConnection _connection;
        private readonly IChannel _channel;
        private readonly List<HeldRequest> _held = [];

        private HeldRequests(IConnection connection, IChannel channel)
        {
            _connection = connection;
            _channel = channel;
        }

        /// <summary>With retire-device declared and bound (by an orchestrator that started and stopped) and empty, and no orchestrator running.</summary>
        public static async Task<HeldRequests> OpenAsync()
        {
            await using (await OrchestratorHost.StartOnRabbitMqAsync(_ => { }))
            {
            }
            var connection = await new ConnectionFactory { Uri = RabbitMqNode.Uri }.CreateConnectionAsync();
            var channel = await connection.CreateChannelAsync();
            await channel.QueuePurgeAsync(QueueNames.RetireDevice);
            return new HeldRequests(connection, channel);
        }

        public async Task<IReadOnlyList<HeldRequest>> TakeAsync(int count)
        {
            await Eventually.Get(async () =>
            {
                for (var message = await _channel.BasicGetAsync(QueueNames.RetireDevice, autoAck: false); message is not null;
                     message = await _channel.BasicGetAsync(QueueNames.RetireDevice, autoAck: false))
                {
                    var body = message.Body.ToArray();
                    var envelope = JsonNode.Parse(body)!;
                    Assert.NotNull(envelope["responseAddress"]);
                    _held.Add(new HeldRequest(message.DeliveryTag, Guid.Parse(envelope["messageId"]!.GetValue<string>()),
                        envelope["message"]!["deviceId"]!.GetValue<string>(), body, message.BasicProperties));
                }
                return _held.Count;
            }, n => n >= count, $"{count} RetireDevice request(s) from decom in {QueueNames.RetireDevice}", TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(50));
            Assert.Equal(count, _held.Count);
            return _held;
        }

        /// <summary>The delivery the orchestrator took before it crashed: the same request, but the answer to it never left.</summary>
        public async Task DeliverUnansweredCopyAsync(HeldRequest request)
        {
            var envelope = JsonNode.Parse(request.Body)!.AsObject();
            envelope.Remove("responseAddress");
            envelope.Remove("requestId");
            await _channel.BasicPublishAsync("", QueueNames.RetireDevice, mandatory: true, new BasicProperties(request.Properties),
                JsonSerializer.SerializeToUtf8Bytes(envelope));
        }

        /// <summary>decom is still waiting: nothing has answered its request yet, so the answer it reports is the redelivery's.</summary>
        public async Task AssertUnanswered(Task<DecomRun> decom)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            Assert.False(decom.IsCompleted, decom.IsCompleted ? $"decom was answered before its request was redelivered:\n{await decom}" : "");
        }

        /// <summary>Every held request back to the queue, marked redelivered, as after its consumer's connection died.</summary>
        public async Task RedeliverAsync()
        {
            foreach (var request in _held)
                await _channel.BasicNackAsync(request.DeliveryTag, multiple: false, requeue: true);
            _held.Clear();
        }

        public async ValueTask DisposeAsync()
        {
            await _channel.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}
