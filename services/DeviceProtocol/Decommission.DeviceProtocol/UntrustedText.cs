using System.Text;

namespace Decommission.DeviceProtocol;

/// <summary>
/// Device- and user-supplied text made safe for a log line or a terminal (the gateway's logs, the operator's decom): control characters (escape sequences, newlines,
/// bidi overrides) become visible escapes, so text can neither forge a log line nor drive the terminal that shows it.
/// </summary>
public static class UntrustedText
{
    public static string Safe(string? text, int maxLength = 512)
    {
        if (string.IsNullOrEmpty(text))
            return text ?? "";
        var builder = new StringBuilder(Math.Min(text.Length, maxLength) + 8);
        foreach (var c in text)
        {
            if (builder.Length >= maxLength)
            {
                builder.Append('…');
                break;
            }
            if (char.IsControl(c) || IsFormatting(c))
                builder.Append($"\\u{(int)c:x4}");
            else
                builder.Append(c);
        }
        return builder.ToString();
    }

    // Unicode "format" characters that reorder or hide text (RTL overrides, zero-width joiners).
    private static bool IsFormatting(char c) => char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;
}
