using System.Security.Cryptography;
using System.Text;
using Dapper;
using Decommission.Contracts;
using Decommission.Certificates;
using Decommission.Credentials;
using Decommission.Inventory;
using Decommission.DeviceAgent;
using Decommission.DeviceProtocol;
using Decommission.Orchestrator.StateMachines;
using Decommission.DeviceGateway.Commands;
using Decommission.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;
/// <summary>Erase orders that did not come from a quarantined retirement, sent as an attacker with broker credentials would.</summary>
public sealed partial class DeviceChannelTests
{
    [Fact]
    public async Task An_erase_order_from_outside_a_retirement_or_for_a_held_device_erases_nothing()
    {
        // Two devices: the stranger's order is refused only after the gateway has waited out its quarantine retries (≈ 19 s), so
        // the held device's half runs meanwhile, on a device of its own (a hold would change the stranger order's refusal).
        await using var fleet = await StartFleet(Device(DeviceBehaviour.Healthy), new DeviceSpec { Id = $"held-{_run}", Behaviour = DeviceBehaviour.Healthy });
        var (target, device) = (fleet.Devices[$"healthy-{_run}"], fleet.Devices[$"held-{_run}"]);
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();

        // An order nobody quarantined for: refused after the gateway waited for the quarantine, and parked in erase-device_error.
        var stranger = Guid.NewGuid();
        await SendRaw(channel, QueueNames.EraseDevice, "EraseDevice", new EraseDevice
        {
            RetirementId = stranger, DeviceId = target.Id, CommandId = Guid.NewGuid(), Nonce = ProtocolSigning.NewNonce(), Attempt = 1,
            AttemptExpiresAt = DateTimeOffset.UtcNow.AddMinutes(1), ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
        });
        var strangerRefused = ErrorReasonFor(connection, $"{QueueNames.EraseDevice}_error", stranger.ToString(), seconds: 40);

        // A held device is never erased, even with a quarantine announced (two leaked credentials): the hold comes from inventory.
        var held = await _host.Bus.CreateRequestClient<SetLegalHold>(new Uri($"queue:{QueueNames.Inventory}"))
            .GetResponse<LegalHoldSet>(new SetLegalHold { DeviceId = device.Id, Hold = true, Reason = "litigation", RequestedBy = "legal" });
        Assert.True(held.Message.Hold);
        var retirement = Guid.NewGuid();
        // What the saga would hear: a queue of our own on the ErasureRejected exchange.
        var watch = (await channel.QueueDeclareAsync($"watch-rejections-{_run}", durable: false, exclusive: false, autoDelete: false)).QueueName;
        await channel.QueueBindAsync(watch, "Decommission.Contracts:ErasureRejected", "");
        var preconditions = _host.Services.GetRequiredService<ErasePreconditionStore>();
        await Eventually.True(async () => await preconditions.HoldReasonAsync(device.Id, CancellationToken.None) is not null,
            "the gateway to hear of the legal hold");
        await _host.Bus.Publish(new DeviceQuarantined { RetirementId = retirement, DeviceId = device.Id, QuarantinedAt = DateTimeOffset.UtcNow });
        await Eventually.True(() => preconditions.IsQuarantinedAsync(retirement, device.Id, CancellationToken.None),
            "the gateway to hear of the quarantine");
        await SendRaw(channel, QueueNames.EraseDevice, "EraseDevice", new EraseDevice
        {
            RetirementId = retirement, DeviceId = device.Id, CommandId = Guid.NewGuid(), Nonce = ProtocolSigning.NewNonce(), Attempt = 1,
            AttemptExpiresAt = DateTimeOffset.UtcNow.AddMinutes(1), ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
        });
        var rejected = await NextMessage(watch, retirement.ToString(), seconds: 20);
        var message = System.Text.Json.JsonDocument.Parse(rejected).RootElement.GetProperty("message");
        Assert.Equal((R.LegalHold, true), (message.GetProperty("reason").GetString(), message.GetProperty("conclusive").GetBoolean()));
        await Task.Delay(1000);
        Assert.True(device.TryReadData(out _), "nothing erased the held device");
        await channel.QueueDeleteAsync(watch);

        Assert.Contains("no quarantine", await strangerRefused);
        Assert.True(target.TryReadData(out _), "nothing erased the stranger order's device");
        await using var gateway = await _host.Services.GetRequiredService<GatewayDatabase>().OpenAsync();
        foreach (var id in new[] { target.Id, device.Id })
            Assert.Equal(0L, await gateway.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM erase_commands WHERE device_id = @Id;", new { Id = id }));
    }

    private async Task<string> NextMessage(string queue, string marker, int seconds)
    {
        var factory = new ConnectionFactory { Uri = RabbitMqNode.Uri };
        return (await Eventually.Get<string?>(async () =>
        {
            await using var connection = await factory.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            var got = await channel.BasicGetAsync(queue, autoAck: true);
            return got is not null && Encoding.UTF8.GetString(got.Body.Span) is var text && text.Contains(marker, StringComparison.Ordinal) ? text : null;
        }, text => text is not null, $"a message about {marker} in {queue}", TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(200)))!;
    }

    /// <summary>A MassTransit-shaped message sent with the raw client, as an attacker holding broker credentials would.</summary>
    private static async Task SendRaw<T>(IChannel channel, string queue, string type, T message)
    {
        var envelope = new
        {
            messageId = Guid.NewGuid(),
            destinationAddress = $"rabbitmq://localhost/{queue}",
            messageType = new[] { $"urn:message:Decommission.Contracts:{type}" },
            message,
            sentTime = DateTimeOffset.UtcNow,
        };
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(envelope, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web));
        await channel.BasicPublishAsync(queue, "", false, new BasicProperties { ContentType = "application/vnd.masstransit+json", Persistent = true }, body);
    }

    /// <summary>Waits for a message mentioning <paramref name="marker"/> in an _error queue and returns MassTransit's fault reason.</summary>
    private static async Task<string> ErrorReasonFor(IConnection connection, string queue, string marker, int seconds)
    {
        return (await Eventually.Get<string?>(async () =>
        {
            // The _error queue exists once the first message faulted: until then every look closes the channel (404).
            await using var channel = await connection.CreateChannelAsync();
            BasicGetResult? got;
            try
            {
                got = await channel.BasicGetAsync(queue, autoAck: false);
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                return null;
            }
            if (got is null)
                return null;
            var text = Encoding.UTF8.GetString(got.Body.Span);
            var mine = text.Contains(marker, StringComparison.Ordinal);
            await channel.BasicNackAsync(got.DeliveryTag, false, requeue: !mine);
            if (!mine)
                return null;
            return got.BasicProperties.Headers?["MT-Fault-Message"] is byte[] reason ? Encoding.UTF8.GetString(reason) : "";
        }, reason => reason is not null, $"a message about {marker} in {queue}", TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(200)))!;
    }
}
