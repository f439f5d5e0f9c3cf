using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Decommission.DeviceProtocol;

/// <summary>
/// RFC 8785 JSON Canonicalization Scheme (JCS) for the values the protocol uses: objects, arrays, strings, booleans,
/// null and integers in the IEEE-754 safe range. The bytes depend on the parsed value only, never on how a JSON library
/// escaped or spaced it, so a device in any language computes the same bytes.
/// </summary>
public static class JsonCanonicalization
{
    /// <summary>The largest integer every JSON implementation reads exactly (2^53 − 1, RFC 8785 §3.2.2.3 via I-JSON).</summary>
    private const double MaxSafeInteger = 9007199254740991;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The JCS bytes of <paramref name="value"/>.</summary>
    /// <exception cref="FormatException">A number that is not a safe integer, a duplicate property name, or a lone surrogate.</exception>
    public static byte[] Canonicalize(JsonElement value) => Canonicalize(value, excludedProperty: null);

    /// <summary>The JCS bytes of the object <paramref name="value"/> without its top-level <paramref name="excludedProperty"/>:
    /// what a signature in that property covers.</summary>
    public static byte[] Canonicalize(JsonElement value, string? excludedProperty)
    {
        var builder = new StringBuilder(512);
        Write(builder, value, excludedProperty);
        try
        {
            return StrictUtf8.GetBytes(builder.ToString());
        }
        catch (EncoderFallbackException)
        {
            throw new FormatException("A string holds a lone UTF-16 surrogate, which has no UTF-8 form (RFC 8785 §3.2.2.2).");
        }
    }

    private static void Write(StringBuilder builder, JsonElement value, string? excludedProperty = null)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(builder, value, excludedProperty);
                break;
            case JsonValueKind.Array:
                builder.Append('[');
                var first = true;
                foreach (var item in value.EnumerateArray())
                {
                    if (!first) builder.Append(',');
                    first = false;
                    Write(builder, item);
                }
                builder.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(builder, value.GetString()!);
                break;
            case JsonValueKind.Number:
                WriteInteger(builder, value);
                break;
            case JsonValueKind.True:
                builder.Append("true");
                break;
            case JsonValueKind.False:
                builder.Append("false");
                break;
            case JsonValueKind.Null:
                builder.Append("null");
                break;
            default:
                throw new FormatException($"A JSON value of kind {value.ValueKind} has no canonical form.");
        }
    }

    private static void WriteObject(StringBuilder builder, JsonElement value, string? excludedProperty)
    {
        var properties = value.EnumerateObject().Where(p => p.Name != excludedProperty).ToList();
        // RFC 8785 §3.2.3: property names sorted by their UTF-16 code units, which is what ordinal comparison compares.
        properties.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        builder.Append('{');
        for (var i = 0; i < properties.Count; i++)
        {
            if (i > 0)
            {
                if (properties[i].Name == properties[i - 1].Name)
                    throw new FormatException($"The property \"{UntrustedText.Safe(properties[i].Name, 64)}\" appears twice (RFC 8785 requires I-JSON: unique names).");
                builder.Append(',');
            }
            WriteString(builder, properties[i].Name);
            builder.Append(':');
            Write(builder, properties[i].Value);
        }
        builder.Append('}');
    }

    // The protocol carries integers only; ECMAScript's number serialisation of a safe integer is its plain decimal digits.
    private static void WriteInteger(StringBuilder builder, JsonElement value)
    {
        var number = value.GetDouble();
        if (Math.Floor(number) != number || Math.Abs(number) > MaxSafeInteger)
            throw new FormatException($"The number {UntrustedText.Safe(value.GetRawText(), 64)} is not an integer within ±(2^53 − 1); the protocol signs no other numbers.");
        builder.Append(((long)number).ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>RFC 8785 §3.2.2.2: only the quote, the backslash and control characters are escaped; everything else is raw.</summary>
    private static void WriteString(StringBuilder builder, string text)
    {
        builder.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case < ' ': builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: builder.Append(c); break;
            }
        }
        builder.Append('"');
    }
}
