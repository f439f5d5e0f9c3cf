namespace Decommission.Contracts;

/// <summary>Puts a device under legal hold (it may not be retired) or releases it.</summary>
public record SetLegalHold
{
    public string DeviceId { get; init; } = "";
    public bool Hold { get; init; }
    public string Reason { get; init; } = "";
    public string RequestedBy { get; init; } = "";
}
