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

    /// <summary>
    /// A password-protected PFX holding the fleet CA, the same file for every replica. When empty, a CA is created on first
    /// start in DataDirectory/ca — only on SQLite (one machine): with Storage:Postgres (replicas possible) the service
    /// refuses to start without it, since replicas each making a CA would issue identities and CRLs no one else trusts.
    /// </summary>
    public string? CaPfxPath { get; set; }

    public string? CaPfxPassword { get; set; }

    /// <summary>Optional: where to write a copy of the fleet CA certificate (public) at start, for the services that check
    /// identities against it (the device gateway, the certificates service) without access to the CA's directory.</summary>
    public string? CaCertificateExportPath { get; set; }

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
    /// Pacing of CRLs: after a CRL, the next one waits this many times as long as the last one took to issue. Every CRL
    /// lists every revocation so far, so its cost grows with the fleet; revocations arriving meanwhile share the next one,
    /// and issuing CRLs takes at most 1/(1 + CrlSpacing) of the time. 0: issue as soon as the last one is done.
    /// </summary>
    [Range(0, 1000)]
    public int CrlSpacing { get; set; } = 4;

    /// <summary>
    /// How often the CRL file in DataDirectory/crl is brought up to the newest CRL in the database, which another replica
    /// may have issued (GET /crl always serves the newest: it reads the database).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CrlFileSync { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "1.00:00:00", "36500.00:00:00")]
    public TimeSpan IdentityValidity { get; set; } = TimeSpan.FromDays(3650);
}
