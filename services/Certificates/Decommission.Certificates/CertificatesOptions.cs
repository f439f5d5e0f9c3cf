using System.ComponentModel.DataAnnotations;

namespace Decommission.Certificates;

/// <summary>Bound from the "Certificates" section.</summary>
public sealed class CertificatesOptions
{
    public const string Section = "Certificates";

    [Required]
    public string DatabasePath { get; set; } = "data/certificates/certificates.db";

    /// <summary>Issued certificates go to DataDirectory/certificates (.pdf and .json); the signing identity to DataDirectory/signing.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data/certificates";

    /// <summary>A password-protected PFX with the signing certificate and key; when empty, a disposal-authority CA and a
    /// signing certificate are created on first start in DataDirectory/signing.</summary>
    public string? SigningPfxPath { get; set; }

    public string? SigningPfxPassword { get; set; }

    /// <summary>NIST SP 800-88 Appendix G "post-sanitization destination" stated on every certificate.</summary>
    [Required]
    public string PostSanitizationDestination { get; set; } = "Recycling";

    /// <summary>The organisation named as issuer on certificates and in the signing certificate.</summary>
    [Required]
    public string Organisation { get; set; } = "Decommission";

    /// <summary>The fleet CA certificate (PEM) that issued the devices' identity certificates; written by the credentials service.</summary>
    [Required]
    public string FleetCaCertificatePath { get; set; } = "data/credentials/ca/fleet-ca.pem";

    /// <summary>The device gateway's command-signing public key (SubjectPublicKeyInfo PEM, its command-signing.pub.pem).</summary>
    [Required]
    public string CommandSigningPublicKeyPath { get; set; } = "data/device-gateway/command-signing.pub.pem";

    /// <summary>How far a receipt's device time may lie outside its command's lifetime when the evidence is re-verified; keep it
    /// equal to the gateway's DeviceGateway:MaxClockSkew, or certificates are refused for wipes the gateway accepted.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = Decommission.DeviceProtocol.WipeEvidence.DefaultClockSkew;

    /// <summary>The largest PDF POST /api/certificates/verify accepts.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxVerifyUploadBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Verifications at once; each holds its upload in memory, so more only costs memory. Others wait, then get 429.</summary>
    [Range(1, 256)]
    public int MaxParallelVerifications { get; set; } = 2;

    /// <summary>How long an upload waits for a verification slot before it is answered 429.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan VerificationQueueTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Crash tests only, never in a deployment: the n-th certificate this process issues stops for good at the n-th step listed
    /// (logging that it did), so that a test can kill the process (kill -9) with issues held at exactly those moments and
    /// check what a restart makes of them. Issues beyond the list, and every issue when it is empty (the default), run through.
    /// </summary>
    public List<IssueStep> CrashTestPauseAt { get; set; } = [];
}

/// <summary>The steps of issuing a certificate, in order, where <see cref="CertificatesOptions.CrashTestPauseAt"/> can stop one.</summary>
public enum IssueStep
{
    /// <summary>The PDF and JSON are written and flushed under temporary names; not in place.</summary>
    TemporaryFilesWritten,

    /// <summary>The files are in place under their names; no row names them yet (not listed).</summary>
    FilesStored,

    /// <summary>The row is written (listed, downloadable); not yet announced.</summary>
    RowWritten,
}
