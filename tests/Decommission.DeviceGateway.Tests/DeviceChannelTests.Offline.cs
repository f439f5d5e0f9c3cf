using Dapper;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.DeviceProtocol;
using Decommission.Testing;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Decommission.DeviceGateway.Tests;

/// <summary>
/// A device away for longer than every attempt (1 s here) still finds its command until the command expires (8 s), and its
/// session queue holds one copy however often the command is re-sent (the node's policy: max-length 1, drop-head).
/// </summary>
public sealed partial class DeviceChannelTests
{
    [Fact]
    public async Task A_device_offline_for_longer_than_all_attempts_back_before_the_commands_expiry_completes_its_retirement()
    {
        // Enrolled but offline until the gateway has gone past its attempts; then it comes online, before the command expires.
        var spec = Device(DeviceBehaviour.Healthy);
        await using var fleet = await EnrollFleet(connect: false, spec);
        await using var queue = await QueueWatch.StartAsync(_node.AdminUri, DeviceTopics.SessionQueue(spec.Id));

        var id = await new Scenario(_host).Retire(spec.Id);
        var waiting = await _host.WaitForRetirement(id, r => r.EraseAttempts > 2, "past its two attempts", seconds: 20);
        Assert.Equal("Erasing", waiting.CurrentState);
        Assert.True(DateTimeOffset.UtcNow < waiting.EraseExpiresAt, "the test came too late: the command has expired");
        await fleet.StartAsync(CancellationToken.None);
        var device = fleet.Devices[spec.Id];
        var completed = await _host.WaitForState(id, "Completed", seconds: 30);

        Assert.False(device.TryReadData(out _));
        Assert.Equal(completed.EraseCommandId.ToString(), device.LastReceipt!.CommandId);
        await using var connection = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        var verdicts = (await connection.QueryAsync<string>("SELECT verdict FROM receipts WHERE device_id = @Id;", new { device.Id })).ToList();
        Assert.Contains("Verified", verdicts);
        Assert.DoesNotContain("Rejected", verdicts);
        // Several copies were sent while it was away, but no more than one ever waited for it.
        Assert.Equal(1u, queue.MostWaiting);
    }

    [Fact]
    public async Task A_device_that_never_comes_back_finds_one_copy_waiting_until_the_command_expires_and_the_retirement_fails_then()
    {
        await using var fleet = await StartFleet(Device(DeviceBehaviour.NeverAnswers));
        var deviceId = fleet.Devices.Keys.Single();
        await using var queue = await QueueWatch.StartAsync(_node.AdminUri, DeviceTopics.SessionQueue(deviceId));

        var id = await new Scenario(_host).Retire(deviceId);
        var erasing = await _host.WaitForRetirement(id, r => r.EraseAttempts > 4, "re-sent past its attempts", seconds: 20);
        Assert.Equal(("Erasing", 1u), (erasing.CurrentState, queue.Waiting));
        var failed = await _host.WaitForState(id, "Failed", seconds: 30);

        Assert.Equal(FailureReasons.DeviceUnreachable, failed.FailureReason);
        Assert.True(failed.UpdatedAt >= erasing.EraseExpiresAt, $"failed at {failed.UpdatedAt:O}, before its command expired at {erasing.EraseExpiresAt:O}");
        Assert.Equal(1u, queue.MostWaiting);
        // The copy lived as long as the command, and no longer.
        await Eventually.True(() => queue.Waiting == 0, "the expired command to leave the device's queue", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_re_sent_command_leaves_one_copy_waiting_the_newest_for_a_device_that_never_connected()
    {
        var deviceId = $"never-{_run}";
        var devices = _host.Services.GetRequiredService<Channel.IDeviceChannel>();
        await devices.PrepareDeviceAsync(deviceId, CancellationToken.None);
        var expires = DateTimeOffset.UtcNow.AddMinutes(1);
        var sent = new List<string>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var command = new EraseCommand { CommandId = Guid.NewGuid().ToString(), DeviceId = deviceId, ExpiresAt = ProtocolSigning.Timestamp(expires) };
            await devices.SendAsync(command, expires, CancellationToken.None);
            sent.Add(command.CommandId);
        }

        await using var connection = await new ConnectionFactory { Uri = _node.AdminUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        Assert.Equal(1u, (await channel.QueueDeclarePassiveAsync(DeviceTopics.SessionQueue(deviceId))).MessageCount);
        Assert.Equal(sent[^1], (await channel.BasicGetAsync(DeviceTopics.SessionQueue(deviceId), autoAck: true))!.BasicProperties.MessageId);

        // A signed verdict goes to the same inbox.
        var gateway = _host.Services.GetRequiredService<Channel.AmqpDeviceChannel>();
        await gateway.SendVerdictAsync(deviceId, $"verdict-{_run}", "{}"u8.ToArray(), expires, CancellationToken.None);
        Assert.Equal($"verdict-{_run}", (await channel.BasicGetAsync(DeviceTopics.SessionQueue(deviceId), autoAck: true))!.BasicProperties.MessageId);
        await channel.QueueDeleteAsync(DeviceTopics.SessionQueue(deviceId));
    }

    /// <summary>Reads how many commands wait in a device's queue, every 50 ms, and keeps the most seen.</summary>
    private sealed class QueueWatch : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private IConnection _connection = null!;
        private Task _watching = Task.CompletedTask;
        private long _waiting;
        private long _most;

        public uint Waiting => (uint)Interlocked.Read(ref _waiting);
        public uint MostWaiting => (uint)Interlocked.Read(ref _most);

        public static async Task<QueueWatch> StartAsync(Uri broker, string queue)
        {
            var watch = new QueueWatch();
            watch._connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
            watch._watching = watch.WatchAsync(queue);
            return watch;
        }

        private async Task WatchAsync(string queue)
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await using var channel = await _connection.CreateChannelAsync();
                    var count = (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
                    Interlocked.Exchange(ref _waiting, count);
                    if (count > Interlocked.Read(ref _most))
                        Interlocked.Exchange(ref _most, count);
                }
                catch (OperationInterruptedException)
                {
                    // Not declared yet.
                }
                await Task.Delay(50).ConfigureAwait(false);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _watching;
            await _connection.DisposeAsync();
            _stop.Dispose();
        }
    }
}
