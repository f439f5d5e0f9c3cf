using UglyToad.PdfPig;
using UglyToad.PdfPig.Content;

namespace Decommission.Certificates.Tests.Pdf;

/// <summary>What a reader sees in a PDF: per page, lines of text top to bottom (letters sharing a baseline, left to right).</summary>
internal sealed record PdfText(IReadOnlyList<IReadOnlyList<string>> Pages, IReadOnlyList<IReadOnlyList<Letter>> Letters, IReadOnlyList<(double Width, double Height)> PageSizes)
{
    public static PdfText Read(byte[] pdf)
    {
        using var document = PdfDocument.Open(pdf);
        var pages = new List<IReadOnlyList<string>>();
        var letters = new List<IReadOnlyList<Letter>>();
        var sizes = new List<(double, double)>();
        foreach (var page in document.GetPages())
        {
            letters.Add(page.Letters.ToList());
            sizes.Add((page.Width, page.Height));
            pages.Add(page.Letters
                .GroupBy(l => Math.Round(l.StartBaseLine.Y, 1))
                .OrderByDescending(g => g.Key)
                .Select(g => Line(g.OrderBy(l => l.StartBaseLine.X)))
                .ToList());
        }
        return new PdfText(pages, letters, sizes);
    }

    public IEnumerable<string> Lines => Pages.SelectMany(p => p);

    /// <summary>All text as one string with single spaces, so wrapped values read as they were written.</summary>
    public string Flowing => string.Join(' ', string.Join(' ', Lines).Split(' ', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>The line holding a label, which also holds the first line of its value.</summary>
    public string LineWith(string label) =>
        Lines.FirstOrDefault(l => l.StartsWith(label + " ", StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"No line starts with \"{label}\". Lines:\n{string.Join('\n', Lines)}");

    private static string Line(IEnumerable<Letter> letters)
    {
        var text = new System.Text.StringBuilder();
        Letter? previous = null;
        foreach (var letter in letters)
        {
            // Separate strings drawn apart on one baseline (label column, value column) read as separate words.
            if (previous is not null && letter.StartBaseLine.X - previous.EndBaseLine.X > 1.5 && previous.Value != " " && letter.Value != " ")
                text.Append(' ');
            text.Append(letter.Value);
            previous = letter;
        }
        return text.ToString();
    }
}
