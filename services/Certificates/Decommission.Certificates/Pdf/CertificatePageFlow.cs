using PdfSharp;
using PdfSharp.Drawing;
using PdfSharp.Pdf;

namespace Decommission.Certificates.Pdf;

/// <summary>
/// Flows a certificate's text down A4 pages: a title block, section headings, label/value rows wrapped within their
/// columns, and a list of entries capped to a last page. Knows nothing about what the certificate says.
/// One instance draws one document on one thread.
/// </summary>
internal sealed partial class CertificatePageFlow : IDisposable
{
    private const double Margin = 56.7; // 20 mm
    private const double TopMargin = 50;
    private const double BottomMargin = 60; // leaves room for the footer
    private const double LabelWidth = 160;
    private const double ColumnGap = 12;
    private const double RowGap = 2.5;
    private const double EntryIndent = 14;

    private static readonly XBrush TextBrush = XBrushes.Black;
    // One embedded subset per face: the automatic encoding embeds DejaVu twice once text holds a character beyond WinAnsi ("→").
    private static readonly XPdfFontOptions Unicode = new(PdfFontEncoding.Unicode);

    private readonly PdfDocument _document;
    // Brushes and pens are mutable PDFsharp objects, so each document gets its own.
    private readonly XBrush _labelBrush = new XSolidBrush(XColor.FromArgb(0x44, 0x44, 0x44));
    private readonly XBrush _headingBrush = new XSolidBrush(XColor.FromArgb(0x1F, 0x3A, 0x5F));
    private readonly XPen _rulePen = new(XColor.FromArgb(0xB0, 0xB8, 0xC4), 0.6);
    private readonly List<PdfPage> _pages = [];
    private readonly XFont _title = new(CertificateFonts.Family, 16, XFontStyleEx.Bold, Unicode);
    private readonly XFont _note = new(CertificateFonts.Family, 8, XFontStyleEx.Regular, Unicode);
    private readonly XFont _heading = new(CertificateFonts.Family, 10.5, XFontStyleEx.Bold, Unicode);
    private readonly XFont _label = new(CertificateFonts.Family, 8, XFontStyleEx.Bold, Unicode);
    private readonly XFont _value = new(CertificateFonts.Family, 8.5, XFontStyleEx.Regular, Unicode);
    private readonly XFont _entry = new(CertificateFonts.Family, 7.5, XFontStyleEx.Regular, Unicode);
    private readonly XFont _footer = new(CertificateFonts.Family, 7.5, XFontStyleEx.Regular, Unicode);
    private XGraphics _graphics;
    private double _y;
    private string? _pendingHeading;
    private bool _finished;

    public CertificatePageFlow(PdfDocument document)
    {
        _document = document;
        _graphics = AddPage();
    }

    private double PageWidth => _pages[0].Width.Point;
    private double PageHeight => _pages[0].Height.Point;
    private double ContentWidth => PageWidth - 2 * Margin;
    private double ValueX => Margin + LabelWidth + ColumnGap;
    private double ValueWidth => PageWidth - Margin - ValueX;
    private double Bottom => PageHeight - BottomMargin;
    private double BodyHeight => Bottom - TopMargin;
    private double HeadingHeight => _heading.GetHeight() + 7;

    public void Title(string title, params string[] notes)
    {
        _graphics.DrawString(title, _title, _headingBrush, new XPoint(Margin, _y), XStringFormats.TopLeft);
        _y += _title.GetHeight() + 4;
        foreach (var note in notes)
            foreach (var line in Wrap(note, _note, ContentWidth))
            {
                _graphics.DrawString(line, _note, _labelBrush, new XPoint(Margin, _y), XStringFormats.TopLeft);
                _y += _note.GetHeight();
            }
        _y += 6;
    }

    /// <summary>Starts a section; its heading is drawn with the first row so a heading never ends a page.</summary>
    public void Section(string heading) => _pendingHeading = heading;

    public void Row(string label, string value) => Row(label, [value]);

    /// <summary>A hash or key id: set small enough that 64 hex digits fit the value column on one line.</summary>
    public void Digest(string label, string value) => Row(label, [value], _entry);

    /// <summary>A label and its values, one value per line, each wrapped within the value column.</summary>
    public void Row(string label, IReadOnlyList<string> values) => Row(label, values, _value);

    private void Row(string label, IReadOnlyList<string> values, XFont font)
    {
        var labelLines = Wrap(label, _label, LabelWidth);
        var valueLines = values.SelectMany(v => Wrap(v, font, ValueWidth)).ToList();
        var lineHeight = Math.Max(font.GetHeight(), _label.GetHeight());
        var height = Math.Max(labelLines.Count, valueLines.Count) * lineHeight + RowGap;

        if (height + PendingHeadingHeight <= BodyHeight)
        {
            // The row fits on a page: keep it whole.
            if (_y + PendingHeadingHeight + height > Bottom)
                NewPage();
            DrawPendingHeading();
            for (var i = 0; i < labelLines.Count; i++)
                DrawRowText(labelLines[i], _label, _labelBrush, Margin, _y + i * lineHeight);
            for (var i = 0; i < valueLines.Count; i++)
                DrawRowText(valueLines[i], font, TextBrush, ValueX, _y + i * lineHeight);
            _y += height;
            return;
        }

        // Longer than a page: continue it line by line, repeating the label on each page.
        for (var i = 0; i < valueLines.Count; i++)
        {
            if (_y + PendingHeadingHeight + lineHeight > Bottom)
                NewPage();
            DrawPendingHeading();
            var labelText = i < labelLines.Count ? labelLines[i] : _y <= TopMargin ? $"{label} (continued)" : null;
            if (labelText is not null)
                DrawRowText(labelText, _label, _labelBrush, Margin, _y);
            DrawRowText(valueLines[i], font, TextBrush, ValueX, _y);
            _y += lineHeight;
        }
        _y += RowGap;
    }

    /// <summary>
    /// Entries in order, each wrapped with a hanging indent, kept whole, flowing no further than <paramref name="lastPage"/>
    /// (or the page the list starts on, if later). Entries that do not fit are counted, never silently dropped:
    /// the list then ends with the line <paramref name="overflowLine"/> makes from their number.
    /// </summary>
    public void Entries(IReadOnlyList<string> entries, int lastPage, Func<int, string> overflowLine)
    {
        var lineHeight = _entry.GetHeight();
        var wrapped = entries.Select(WrapEntry).ToList();

        // Room for the heading, one line and the overflow line: otherwise the list starts on a fresh page.
        if (_y + PendingHeadingHeight + 2 * lineHeight > Bottom)
            NewPage();
        lastPage = Math.Max(lastPage, _pages.Count);

        var placements = Place(wrapped, lastPage, reserveOnLastPage: 0);
        var shown = placements.Count;
        if (shown < wrapped.Count)
        {
            placements = Place(wrapped, lastPage, reserveOnLastPage: lineHeight);
            shown = placements.Count;
        }

        DrawPendingHeading(); // Place() counted the heading on the current page.
        for (var i = 0; i < shown; i++)
        {
            var (page, top) = placements[i];
            while (_pages.Count < page)
                NewPage();
            for (var line = 0; line < wrapped[i].Count; line++)
            {
                var x = line == 0 ? Margin : Margin + EntryIndent;
                _graphics.DrawString(wrapped[i][line], _entry, TextBrush, new XPoint(x, top + line * lineHeight), XStringFormats.TopLeft);
            }
            _y = top + wrapped[i].Count * lineHeight;
        }

        if (shown < wrapped.Count)
        {
            if (_y + lineHeight > Bottom)
                NewPage(); // only when the next entry is taller than a whole page
            var line = overflowLine(wrapped.Count - shown);
            _graphics.DrawString(line, _entry, _labelBrush, new XPoint(Margin, _y), XStringFormats.TopLeft);
            _y += lineHeight;
        }
    }

    /// <summary>Ends the drawing with a footer on every page, now that the number of pages is known.</summary>
    public void Finish(string footer)
    {
        _graphics.Dispose();
        _finished = true;
        for (var i = 0; i < _pages.Count; i++)
        {
            using var graphics = XGraphics.FromPdfPage(_pages[i], XGraphicsPdfPageOptions.Append);
            var y = PageHeight - BottomMargin + 22;
            graphics.DrawLine(_rulePen, Margin, y - 4, PageWidth - Margin, y - 4);
            graphics.DrawString(footer, _footer, _labelBrush, new XPoint(Margin, y), XStringFormats.TopLeft);
            graphics.DrawString($"Page {i + 1} of {_pages.Count}", _footer, _labelBrush, new XPoint(PageWidth - Margin, y), XStringFormats.TopRight);
        }
    }

    public void Dispose()
    {
        if (!_finished)
            _graphics.Dispose();
    }

    private double PendingHeadingHeight => _pendingHeading is null ? 0 : HeadingHeight;

    /// <summary>Where each entry goes (page number from 1, top), as long as entries fit; stops at the first that does not.</summary>
    private List<(int Page, double Top)> Place(List<List<string>> wrapped, int lastPage, double reserveOnLastPage)
    {
        var placements = new List<(int, double)>();
        var page = _pages.Count;
        var y = _y + PendingHeadingHeight;
        var lineHeight = _entry.GetHeight();
        foreach (var entry in wrapped)
        {
            var height = entry.Count * lineHeight;
            double BottomOf(int p) => p == lastPage ? Bottom - reserveOnLastPage : Bottom;
            if (y + height > BottomOf(page))
            {
                if (page >= lastPage || TopMargin + height > BottomOf(page + 1))
                    break;
                page++;
                y = TopMargin;
            }
            placements.Add((page, y));
            y += height;
        }
        return placements;
    }

    // Wrapped to the indented width so continuation lines (drawn indented) fit too.
    private List<string> WrapEntry(string entry) => Wrap(entry, _entry, ContentWidth - EntryIndent);

    /// <summary>Label and value share the value font's baseline, so a reader sees them on one line.</summary>
    private void DrawRowText(string text, XFont font, XBrush brush, double x, double top)
    {
        var ascent = _value.Size * _value.Metrics.Ascent / _value.Metrics.UnitsPerEm;
        _graphics.DrawString(text, font, brush, new XPoint(x, top + ascent), XStringFormats.BaseLineLeft);
    }

    private void DrawPendingHeading()
    {
        if (_pendingHeading is null)
            return;
        _y += 3;
        _graphics.DrawString(_pendingHeading, _heading, _headingBrush, new XPoint(Margin, _y), XStringFormats.TopLeft);
        _y += _heading.GetHeight() + 1;
        _graphics.DrawLine(_rulePen, Margin, _y, PageWidth - Margin, _y);
        _y += 3;
        _pendingHeading = null;
    }

    private void NewPage()
    {
        _graphics.Dispose();
        _graphics = AddPage();
    }

    private XGraphics AddPage()
    {
        var page = _document.AddPage();
        page.Size = PageSize.A4;
        _pages.Add(page);
        _y = TopMargin;
        return XGraphics.FromPdfPage(page);
    }
}
