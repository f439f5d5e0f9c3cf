using System.ComponentModel.DataAnnotations;

namespace Decommission.Credentials;

/// <summary>Bound from the "Credentials" section.</summary>
public sealed class CredentialsOptions
{
    public const string Section = "Credentials";

    [Required]
    public string DatabasePath { get; set; } = "data/credentials/credentials.db";

    /// <summary>Where the fleet CA (when not loaded from a PFX) and the published CRL live.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data/credentials";

    /// <summary>A password-protected PFX holding the fleet CA; when empty, a CA is created on first start in DataDirectory/ca.</summary>
    public string? CaPfxPath { get; set; }

    public string? CaPfxPassword { get; set; }

    /// <summary>The network segment a quarantined device is moved to.</summary>
    [Required]
    public string QuarantineSegment { get; set; } = "decommission";

    /// <summary>PBKDF2-HMAC-SHA256 iterations for stored secret hashes (secrets are random, 256 bits).</summary>
    [Range(1_000, 10_000_000)]
    public int KdfIterations { get; set; } = 20_000;

    /// <summary>How long a CRL is valid (its nextUpdate).</summary>
    [Range(typeof(TimeSpan), "01:00:00", "365.00:00:00")]
    public TimeSpan CrlValidity { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// The shortest time between two CRLs. Every CRL lists every revocation so far, so its cost grows with the fleet:
    /// revocations that arrive sooner wait and share the next one. A lone revocation is published at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan CrlMinInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    [Range(typeof(TimeSpan), "1.00:00:00", "36500.00:00:00")]
    public TimeSpan IdentityValidity { get; set; } = TimeSpan.FromDays(3650);
}
