using System.Diagnostics;
using System.Text;
using Decommission.DeviceProtocol;
using Decommission.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Xunit.Abstractions;

namespace Decommission.Broker.Tests;

/// <summary>
/// AMQP over TLS, the devices' second transport, under the MQTT side's rules: a raw RabbitMQ.Client logs in with EXTERNAL by
/// the device's identity certificate, uses only its own session queue and topics, and is refused like mosquitto is.
/// </summary>
public sealed class DeviceAmqpsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly DeviceBroker _broker = new();

    [Fact]
    public async Task A_device_logs_in_by_its_certificate_receives_its_command_and_publishes_its_receipt()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        await using var services = await _broker.ServicesFactory().CreateConnectionAsync();
        await using var admin = await services.CreateChannelAsync();
        await AmqpsDevice.PrepareSessionAsync(admin, id);
        var receipts = (await admin.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await admin.QueueBindAsync(receipts, "amq.topic", $"devices.{id}.receipts");

        using var device = new AmqpsDevice(_broker, identity);
        await using var connection = await device.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            received.TrySetResult(Encoding.UTF8.GetString(delivery.Body.Span));
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        };
        await channel.BasicConsumeAsync(DeviceTopics.SessionQueue(id), autoAck: false, consumer);

        var command = $"{{\"erase\":\"{Guid.NewGuid():N}\"}}";
        await _broker.PublishCommandAsync(id, command);
        Assert.Equal(command, await received.Task.WaitAsync(Patience));

        var receipt = $"{{\"receipt\":\"{Guid.NewGuid():N}\"}}";
        await AmqpsDevice.PublishAsync(channel, "amq.topic", $"devices.{id}.receipts", receipt);
        var got = await Eventually.Get<BasicGetResult?>(async () => await admin.BasicGetAsync(receipts, autoAck: true), r => r is not null, "the receipt in the bound queue");
        Assert.Equal(receipt, Encoding.UTF8.GetString(got!.Body.Span));
    }

    [Fact]
    public async Task A_device_is_refused_everything_that_is_not_its_own()
    {
        var id = DeviceIdentity.NewDeviceId();
        var other = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        await _broker.AddDeviceAsync(other);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        await using (var services = await _broker.ServicesFactory().CreateConnectionAsync())
        await using (var admin = await services.CreateChannelAsync())
        {
            await AmqpsDevice.PrepareSessionAsync(admin, id);
            await AmqpsDevice.PrepareSessionAsync(admin, other);
        }
        var (mine, theirs) = (DeviceTopics.SessionQueue(id), DeviceTopics.SessionQueue(other));
        using var device = new AmqpsDevice(_broker, identity);
        await using var connection = await device.ConnectAsync();

        var attempts = new (string What, Func<IChannel, Task> Operation)[]
        {
            ("consume another device's session queue", c => c.BasicConsumeAsync(theirs, autoAck: true, new AsyncEventingBasicConsumer(c))),
            ("get from another device's session queue", c => c.BasicGetAsync(theirs, autoAck: true)),
            ("purge another device's session queue", c => c.QueuePurgeAsync(theirs)),
            ("delete another device's session queue", c => c.QueueDeleteAsync(theirs)),
            ("publish on another device's receipt topic", c => AmqpsDevice.PublishAsync(c, "amq.topic", $"devices.{other}.receipts", "{}")),
            ("publish on another device's command topic", c => AmqpsDevice.PublishAsync(c, "amq.topic", $"devices.{other}.commands", "{}")),
            ("publish on its own command topic", c => AmqpsDevice.PublishAsync(c, "amq.topic", $"devices.{id}.commands", "{}")),
            ("publish straight into another device's session queue", c => AmqpsDevice.PublishAsync(c, "", theirs, "{}")),
            ("publish on amq.direct", c => AmqpsDevice.PublishAsync(c, "amq.direct", theirs, "{}")),
            ("declare a queue of its own", c => c.QueueDeclareAsync($"mine-{id}", durable: false, exclusive: false, autoDelete: true)),
            ("declare another device's session queue", c => c.QueueDeclareAsync(theirs, durable: true, exclusive: false, autoDelete: false)),
            ("declare an exchange", c => c.ExchangeDeclareAsync($"x-{id}", ExchangeType.Topic)),
            ("bind its session queue to another device's commands", c => c.QueueBindAsync(mine, "amq.topic", $"devices.{other}.commands")),
            ("bind its session queue to every device's commands", c => c.QueueBindAsync(mine, "amq.topic", "devices.*.commands")),
            ("bind another device's session queue", c => c.QueueBindAsync(theirs, "amq.topic", $"devices.{id}.commands")),
        };
        var allowed = new List<string>();
        foreach (var (what, operation) in attempts)
        {
            var refusal = await AmqpsDevice.RefusalAsync(connection, operation);
            output.WriteLine($"{what}: {(refusal is { } code ? $"refused ({code})" : "ALLOWED")}");
            if (refusal != Constants.AccessRefused)
                allowed.Add($"{what} ({refusal?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "allowed"})");
        }
        Assert.True(allowed.Count == 0, $"not refused as access refused: {string.Join(", ", allowed)}");
        Assert.True(connection.IsOpen, "the device's own connection should outlive its refused channels");

        // The services' virtual host is not open to it at all.
        var root = await AmqpsDevice.RefusalAsync(() => device.ConnectAsync("/"));
        output.WriteLine($"virtual host /: {AmqpsDevice.Describe(root)}");
        Assert.Equal(Constants.NotAllowed, AmqpsDevice.ReplyCode(root));
    }

    [Fact]
    public async Task Without_a_fleet_certificate_or_with_a_revoked_one_external_is_refused_and_services_keep_plain()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        // Named as the fleet CA is: only its key differs.
        using var untrusted = DeviceIdentity.UntrustedCa(_broker.FleetCaCertificatePath);
        using var forged = DeviceIdentity.Issue(id, untrusted);
        using var forger = new AmqpsDevice(_broker, forged);
        var refused = await AmqpsDevice.RefusalAsync(() => forger.ConnectAsync());
        output.WriteLine($"another CA: {AmqpsDevice.Describe(refused)}");
        Assert.NotNull(refused);
        // At the TLS handshake: the AMQP login never happened.
        Assert.Null(AmqpsDevice.ReplyCode(refused));

        using var anonymous = new AmqpsDevice(_broker, null);
        var without = await AmqpsDevice.RefusalAsync(() => anonymous.ConnectAsync());
        output.WriteLine($"no certificate: {AmqpsDevice.Describe(without)}");
        Assert.NotNull(without);
        // A client without a certificate still gets through TLS and logs in with a password: the services do.
        Assert.Null(await AmqpsDevice.RefusalAsync(() => _broker.ServicesFactory().CreateConnectionAsync()));

        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        using var device = new AmqpsDevice(_broker, identity);
        Assert.Null(await AmqpsDevice.RefusalAsync(() => device.ConnectAsync()));
        await _broker.RevokeAsync(identity);
        var revoked = await AmqpsDevice.RefusalAsync(() => device.ConnectAsync());
        output.WriteLine($"revoked: {AmqpsDevice.Describe(revoked)}");
        Assert.NotNull(revoked);
        Assert.Null(AmqpsDevice.ReplyCode(revoked));
    }

    [Fact]
    public async Task A_device_user_cannot_log_in_with_a_password_and_a_removed_one_not_at_all()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        using var device = new AmqpsDevice(_broker, identity);
        using var anonymous = new AmqpsDevice(_broker, null);
        foreach (var password in new[] { "", id, "guest" })
            foreach (var client in new[] { device, anonymous })
            {
                var refused = await AmqpsDevice.RefusalAsync(() => client.ConnectWithPasswordAsync(id, password));
                Assert.True(AmqpsDevice.ReplyCode(refused) == Constants.AccessRefused, $"PLAIN '{password}': {AmqpsDevice.Describe(refused)}");
            }

        await using var live = await device.ConnectAsync();
        var removing = Stopwatch.StartNew();
        await _broker.RemoveDeviceAsync(id);
        await Eventually.True(() => !live.IsOpen, "the device's live AMQPS connection to close", timeout: TimeSpan.FromSeconds(5));
        output.WriteLine($"live connection closed {removing.Elapsed.TotalSeconds:0.00} s after the removal began: {live.CloseReason}");

        var again = await AmqpsDevice.RefusalAsync(() => device.ConnectAsync());
        output.WriteLine($"after removal: {AmqpsDevice.Describe(again)}");
        Assert.Equal(Constants.AccessRefused, AmqpsDevice.ReplyCode(again));
    }

    [Fact]
    public async Task A_quarantined_device_loses_its_live_connection_and_its_telemetry_but_keeps_its_receipts()
    {
        var id = DeviceIdentity.NewDeviceId();
        await _broker.AddDeviceAsync(id);
        using var identity = DeviceIdentity.Issue(id, _broker.FleetCaCertificatePath, _broker.FleetCaKeyPath);
        using var device = new AmqpsDevice(_broker, identity);
        await using var live = await device.ConnectAsync();
        Assert.Null(await AmqpsDevice.RefusalAsync(live, c => AmqpsDevice.PublishAsync(c, "amq.topic", $"devices.{id}.telemetry", "{}")));

        await _broker.QuarantineDeviceAsync(id);

        await Eventually.True(() => !live.IsOpen, "the device's live AMQPS connection to close", timeout: TimeSpan.FromSeconds(5));
        await using var again = await device.ConnectAsync();
        Assert.Equal(Constants.AccessRefused,
            await AmqpsDevice.RefusalAsync(again, c => AmqpsDevice.PublishAsync(c, "amq.topic", $"devices.{id}.telemetry", "{}")));
        Assert.Null(await AmqpsDevice.RefusalAsync(again, c => AmqpsDevice.PublishAsync(c, "amq.topic", $"devices.{id}.receipts", "{}")));
    }
}
