namespace Decommission.Contracts;

/// <summary>Why the device gateway rejected a wipe receipt (ErasureRejected.Reason); each check has its own reason.</summary>
public static class ReceiptRejectionReasons
{
    public const string Malformed = "Malformed";
    public const string UnregisteredKey = "UnregisteredKey";
    public const string BadSignature = "BadSignature";
    public const string DeviceMismatch = "DeviceMismatch";
    /// <summary>The receipt came on another device's receipt topic than the device it names: never verified.</summary>
    public const string TopicMismatch = "TopicMismatch";
    public const string CommandMismatch = "CommandMismatch";
    public const string NonceMismatch = "NonceMismatch";
    public const string Replay = "Replay";
    public const string Expired = "Expired";
    /// <summary>The device's clock: its completion time lies outside the command's window by more than the allowed skew.</summary>
    public const string ClockSkew = "ClockSkew";
    public const string WeakMethod = "WeakMethod";
    public const string DeviceReportedFailure = "DeviceReportedFailure";
    /// <summary>The device refused the erase in a refusal signed by its attestation key; the detail carries its reason code and text.</summary>
    public const string DeviceRefused = "DeviceRefused";
    /// <summary>The gateway refused the erase order: the device is under legal hold.</summary>
    public const string LegalHold = "LegalHold";
    /// <summary>The gateway refused the erase order: no quarantine of this device for this retirement was announced.</summary>
    public const string NotQuarantined = "NotQuarantined";
}
