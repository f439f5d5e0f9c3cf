namespace Decommission.Contracts;

/// <summary>Asks for a device to be retired; sent to queue <c>retire-device</c> by operators, the end-of-life scheduler or any AMQP client.</summary>
public record RetireDevice
{
    public string DeviceId { get; init; } = "";
    public string Reason { get; init; } = "";
    public string RequestedBy { get; init; } = "";
    public DateTimeOffset RequestedAt { get; init; }
}
