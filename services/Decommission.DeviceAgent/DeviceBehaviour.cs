namespace Decommission.DeviceAgent;

/// <summary>How a simulated device answers erase commands: honest ones and the failures the gateway must catch.</summary>
public enum DeviceBehaviour
{
    /// <summary>Erases and answers at once.</summary>
    Healthy,
    /// <summary>Erases at once, answers after <see cref="DeviceSpec.Delay"/>.</summary>
    Slow,
    /// <summary>Leaves its commands waiting in its session queue (it does not connect) until <see cref="DeviceSpec.OfflineUntil"/>, then is healthy.</summary>
    OfflineUntil,
    /// <summary>Never connects: its commands wait on the broker until they expire.</summary>
    NeverAnswers,
    /// <summary>Its secure element refuses the key destruction: answers a genuinely signed Failed receipt, data still readable.</summary>
    EraseFails,
    /// <summary>Erases, but signs the receipt with a key other than its registered attestation key.</summary>
    SignsWithWrongKey,
    /// <summary>Does not erase; answers with a receipt it signed a day earlier for another command.</summary>
    ReplaysOldReceipt,
    /// <summary>Erases and answers at once, but its clock runs a day ahead: the receipt's time is impossible.</summary>
    ClockAhead,
    /// <summary>Erases and answers at once, but its clock runs an hour behind: the receipt predates the command.</summary>
    ClockBehind,
    /// <summary>Does not erase: answers a genuinely signed refusal (NotPermitted, a maintenance lock on site).</summary>
    Refuses,
}
