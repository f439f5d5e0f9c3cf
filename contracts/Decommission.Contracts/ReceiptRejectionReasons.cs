namespace Decommission.Contracts;

/// <summary>Why the device gateway rejected a wipe receipt (ErasureRejected.Reason); each check has its own reason.</summary>
public static class ReceiptRejectionReasons
{
    public const string Malformed = "Malformed";
    public const string UnregisteredKey = "UnregisteredKey";
    public const string BadSignature = "BadSignature";
    public const string DeviceMismatch = "DeviceMismatch";
    public const string CommandMismatch = "CommandMismatch";
    public const string NonceMismatch = "NonceMismatch";
    public const string Replay = "Replay";
    public const string Expired = "Expired";
    public const string WeakMethod = "WeakMethod";
    public const string DeviceReportedFailure = "DeviceReportedFailure";
}
