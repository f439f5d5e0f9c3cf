using PdfSharp.Drawing;

namespace Decommission.Certificates.Pdf;

/// <summary>Breaking text into lines that fit a column, measured in the font it is drawn with.</summary>
internal sealed partial class CertificatePageFlow
{
    /// <summary>Greedy word wrap; a word wider than the column (a hash, a key id) is broken between characters.</summary>
    private List<string> Wrap(string text, XFont font, double width)
    {
        var lines = new List<string>();
        foreach (var paragraph in text.ReplaceLineEndings("\n").Split('\n'))
        {
            var words = paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
            {
                lines.Add("");
                continue;
            }
            var space = Measure(" ", font);
            var line = new System.Text.StringBuilder();
            var lineWidth = 0.0;
            foreach (var word in words)
            {
                var wordWidth = Measure(word, font);
                if (line.Length > 0 && lineWidth + space + wordWidth <= width)
                {
                    line.Append(' ').Append(word);
                    lineWidth += space + wordWidth;
                    continue;
                }
                if (line.Length > 0)
                {
                    lines.Add(line.ToString());
                    line.Clear();
                    lineWidth = 0;
                }
                if (wordWidth <= width)
                {
                    line.Append(word);
                    lineWidth = wordWidth;
                    continue;
                }
                foreach (var piece in BreakWord(word, font, width, out var lastWidth))
                {
                    if (line.Length > 0)
                        lines.Add(line.ToString());
                    line.Clear().Append(piece);
                    lineWidth = lastWidth;
                }
            }
            if (line.Length > 0)
                lines.Add(line.ToString());
        }
        return lines;
    }

    private IEnumerable<string> BreakWord(string word, XFont font, double width, out double lastWidth)
    {
        var pieces = new List<string>();
        var start = 0;
        lastWidth = 0;
        var i = 0;
        while (i < word.Length)
        {
            // Never split a surrogate pair.
            var length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length ? 2 : 1;
            var characterWidth = Measure(word.Substring(i, length), font);
            if (lastWidth + characterWidth > width && i > start)
            {
                pieces.Add(word[start..i]);
                start = i;
                lastWidth = 0;
            }
            lastWidth += characterWidth;
            i += length;
        }
        pieces.Add(word[start..]);
        return pieces;
    }

    private double Measure(string text, XFont font) => _graphics.MeasureString(text, font).Width;
}
