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
}
