using PdfSharp.Fonts;

namespace Decommission.Certificates.Pdf;

/// <summary>
/// Serves the embedded DejaVu Sans (regular and bold) to PDFsharp, so a certificate looks the same on every machine
/// and never depends on installed fonts (PDFsharp's Core build finds no fonts on Linux by itself).
/// Every family name resolves to DejaVu Sans: PDFsharp's own signature appearance asks for "Verdana".
/// </summary>
public sealed class CertificateFonts : IFontResolver
{
    public const string Family = "DejaVu Sans";

    private const string RegularFace = "DejaVuSans";
    private const string BoldFace = "DejaVuSans-Bold";

    private static readonly CertificateFonts Resolver = new();
    private static readonly Lock InstallLock = new();
    private static volatile bool _installed;

    private readonly Lazy<byte[]> _regular = new(() => Load(RegularFace));
    private readonly Lazy<byte[]> _bold = new(() => Load(BoldFace));

    private CertificateFonts()
    {
    }

    /// <summary>Makes these fonts PDFsharp's font resolver. Safe to call from any thread, any number of times.</summary>
    /// <exception cref="InvalidOperationException">Another font resolver was installed in this process first.</exception>
    public static void Install()
    {
        if (_installed)
            return;
        lock (InstallLock)
        {
            if (_installed)
                return;
            // PDFsharp allows the resolver to be set once per process; a foreign one cannot be replaced.
            var current = GlobalFontSettings.FontResolver;
            if (current is null)
                GlobalFontSettings.FontResolver = Resolver;
            else if (current is not CertificateFonts)
                throw new InvalidOperationException(
                    $"PDFsharp already uses the font resolver {current.GetType().FullName}; certificates need {nameof(CertificateFonts)} installed instead.");
            _installed = true;
        }
    }

    public FontResolverInfo ResolveTypeface(string familyName, bool isBold, bool isItalic) =>
        new(isBold ? BoldFace : RegularFace, mustSimulateBold: false, mustSimulateItalic: isItalic);

    public byte[]? GetFont(string faceName) => faceName switch
    {
        RegularFace => _regular.Value,
        BoldFace => _bold.Value,
        _ => null,
    };

    private static byte[] Load(string face)
    {
        var name = $"Decommission.Certificates.Fonts.{face}.ttf";
        using var stream = typeof(CertificateFonts).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded font {name} is missing from {typeof(CertificateFonts).Assembly.GetName().Name}.");
        using var copy = new MemoryStream((int)stream.Length);
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
