using System.Diagnostics;
using System.Globalization;
using Decommission.Testing;

namespace Decommission.Broker.Tests;

/// <summary>
/// mosquitto_sub and mosquitto_pub (Debian's mosquitto-clients) as a device would run them: MQTT 3.1.1 over TLS to the
/// node, trusting the broker's CA, with the device's certificate and key (or none), QoS 1, debug output on (each packet
/// sent and received is a line: what the tests read).
/// </summary>
public sealed class Mosquitto(DeviceBroker broker)
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Subscribes with a persistent session (clean session off) and exits when the broker acknowledged it.</summary>
    public Task<ChildProcess.Result> SubscribeAndLeaveAsync(DeviceIdentity? identity, string clientId, string topic) =>
        ChildProcess.RunAsync(Subscriber(identity, clientId, topic, "-E", "-W", "10"), Patience);

    /// <summary>Resumes the persistent session and waits up to <paramref name="seconds"/> for <paramref name="count"/> messages.</summary>
    public Task<ChildProcess.Result> ReceiveAsync(DeviceIdentity identity, string topic, int count, int seconds) =>
        ChildProcess.RunAsync(Subscriber(identity, identity.DeviceId, topic, "-C", Number(count), "-W", Number(seconds)), Patience);

    /// <summary>Subscribes for <paramref name="seconds"/>; a subscription the broker refuses closes the connection, and the client tries again.</summary>
    public Task<ChildProcess.Result> TrySubscribeAsync(DeviceIdentity? identity, string clientId, string topic, int seconds) =>
        ChildProcess.RunAsync(Subscriber(identity, clientId, topic, "-W", Number(seconds)), Patience);

    /// <summary>A subscriber that stays connected until stopped (or until it has <paramref name="count"/> messages).</summary>
    public RunningClient StartSubscriber(DeviceIdentity identity, string topic, int? count = null)
    {
        var start = count is { } c
            ? Subscriber(identity, identity.DeviceId, topic, "-C", Number(c))
            : Subscriber(identity, identity.DeviceId, topic);
        // Its output goes to a pipe, which stdio buffers by the block: each line must come when it is written.
        start.ArgumentList.Insert(0, start.FileName);
        start.ArgumentList.Insert(0, "-oL");
        start.FileName = "stdbuf";
        return RunningClient.Start(start);
    }

    /// <summary>Publishes one message with QoS 1: exit code 0 once the broker acknowledged it (PUBACK).</summary>
    public Task<ChildProcess.Result> PublishAsync(DeviceIdentity identity, string topic, string payload)
    {
        var start = Client("mosquitto_pub", identity, $"{identity.DeviceId}-pub");
        foreach (var argument in new[] { "-q", "1", "-t", topic, "-m", payload })
            start.ArgumentList.Add(argument);
        return ChildProcess.RunAsync(start, Patience);
    }

    private ProcessStartInfo Subscriber(DeviceIdentity? identity, string clientId, string topic, params string[] extra)
    {
        var start = Client("mosquitto_sub", identity, clientId);
        foreach (var argument in new[] { "-c", "-q", "1", "-t", topic }.Concat(extra))
            start.ArgumentList.Add(argument);
        return start;
    }

    private ProcessStartInfo Client(string program, DeviceIdentity? identity, string clientId)
    {
        var start = new ProcessStartInfo(program);
        foreach (var argument in new[]
                 {
                     "-h", "127.0.0.1", "-p", Number(broker.MqttsPort), "-V", "mqttv311", "-d",
                     "--cafile", broker.BrokerCaPath, "-i", clientId,
                 })
            start.ArgumentList.Add(argument);
        if (identity is not null)
            foreach (var argument in new[] { "--cert", identity.CertificatePath, "--key", identity.KeyPath })
                start.ArgumentList.Add(argument);
        return start;
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The broker accepted the connection (CONNACK return code 0).</summary>
    public static bool Connected(string output) => output.Contains("received CONNACK (0)", StringComparison.Ordinal);

    /// <summary>How often the client sent CONNECT: more than once means the broker closed a connection on it.</summary>
    public static int Connects(string output) => Occurrences(output, "sending CONNECT");

    public static int Occurrences(string output, string text)
    {
        var count = 0;
        for (var at = output.IndexOf(text, StringComparison.Ordinal); at >= 0; at = output.IndexOf(text, at + text.Length, StringComparison.Ordinal))
            count++;
        return count;
    }
}
