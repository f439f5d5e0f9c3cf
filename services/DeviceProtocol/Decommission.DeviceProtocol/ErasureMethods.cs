namespace Decommission.DeviceProtocol;

/// <summary>Erase methods a receipt may report, and what each counts as under NIST SP 800-88.</summary>
public static class ErasureMethods
{
    /// <summary>NIST SP 800-88 Rev.2: destroying the media encryption key is a Purge.</summary>
    public const string CryptographicErase = "CryptographicErase";
    /// <summary>Overwriting user-addressable areas: a Clear, weaker than policy.</summary>
    public const string Overwrite = "Overwrite";
    public const string FactoryReset = "FactoryReset";

    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

    /// <summary>Whether the method meets the Purge policy.</summary>
    public static bool IsPurge(string method) => method == CryptographicErase;
}
