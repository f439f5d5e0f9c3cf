using Decommission.Contracts;

namespace Decommission.Orchestrator.StateMachines;

/// <summary>Rejects a RetireDevice that cannot be acted on; the message goes to the _error queue with this reason.</summary>
internal static class RetireDeviceValidation
{
    public const int MaxLength = 200;

    public static void EnsureValid(RetireDevice message)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(message.DeviceId)) problems.Add("DeviceId is required");
        if (string.IsNullOrWhiteSpace(message.RequestedBy)) problems.Add("RequestedBy is required");
        if (string.IsNullOrWhiteSpace(message.Reason)) problems.Add("Reason is required");
        if (message.DeviceId.Length > MaxLength || message.RequestedBy.Length > MaxLength || message.Reason.Length > 4 * MaxLength)
            problems.Add("a field is too long");
        if (problems.Count > 0)
            throw new InvalidRetirementRequestException($"RetireDevice rejected: {string.Join("; ", problems)}.");
    }
}

/// <summary>A request that no retry can make valid.</summary>
public sealed class InvalidRetirementRequestException(string message) : Exception(message);
