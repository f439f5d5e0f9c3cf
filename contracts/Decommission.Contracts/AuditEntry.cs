namespace Decommission.Contracts;

/// <summary>One transition of a retirement: who or what caused it, and when.</summary>
public record AuditEntry
{
    public DateTimeOffset At { get; init; }
    public string FromState { get; init; } = "";
    public string ToState { get; init; } = "";
    public string Event { get; init; } = "";
    public string Actor { get; init; } = "";
    public string Detail { get; init; } = "";
}
