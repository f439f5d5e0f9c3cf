namespace Decommission.Contracts;

/// <summary>NIST SP 800-88 Rev.1 sanitization types a disposal certificate can state.</summary>
public static class SanitizationTypes
{
    /// <summary>A verified cryptographic erase (NIST SP 800-88 Rev.2: Cryptographic Erase is a Purge).</summary>
    public const string Purge = nameof(Purge);

    /// <summary>A witnessed physical destruction.</summary>
    public const string Destroy = nameof(Destroy);
}
