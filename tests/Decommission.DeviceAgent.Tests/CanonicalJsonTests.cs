using System.Text;
using System.Text.Json;
using Decommission.DeviceProtocol;

namespace Decommission.DeviceAgent.Tests;

/// <summary>RFC 8785 as the protocol uses it: the bytes depend on the value, not on how a JSON library wrote it.</summary>
public sealed class CanonicalJsonTests
{
    private static string Canonical(string json, string? without = null)
    {
        using var document = JsonDocument.Parse(json);
        return Encoding.UTF8.GetString(JsonCanonicalization.Canonicalize(document.RootElement, without));
    }

    [Theory]
    // Python's json.dumps default (ASCII only, spaces) and .NET's (escaped + < > & ') read as the same value.
    [InlineData("{\"b\": \"Z\\u00fcrich \\u2014 \\ud83d\\ude00\", \"a\": [1, true, null]}")]
    [InlineData("{\"a\":[1,true,null],\"b\":\"Z\u00fcrich \u2014 \U0001F600\"}")]
    [InlineData("{ \"a\" : [ 1.0 , true , null ] , \"b\" : \"Z\\u00FCrich \\u2014 \\uD83D\\uDE00\" }")]
    public void Any_encoding_of_a_value_has_the_same_canonical_form(string json) =>
        Assert.Equal("{\"a\":[1,true,null],\"b\":\"Zürich — 😀\"}", Canonical(json));

    [Fact]
    public void Only_quote_backslash_and_control_characters_are_escaped() =>
        Assert.Equal("\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f/+<>&'\u007f\"",
            Canonical("\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001F\\/\\u002b\\u003C\\u003e\\u0026\\u0027\\u007f\""));

    [Fact]
    public void Properties_are_sorted_by_utf16_code_units() =>
        // RFC 8785 §3.2.3: 😀 (U+1F600, code units D83D DE00) sorts before Ａ (U+FF21), though its code point is larger.
        Assert.Equal("{\"A\":1,\"a\":2,\"b\":3,\"\U0001F600\":5,\"\uFF21\":4}", Canonical("{\"\uFF21\":4,\"\U0001F600\":5,\"b\":3,\"a\":2,\"A\":1}"));

    [Fact]
    public void The_signature_property_is_left_out_at_the_top_level_only() =>
        Assert.Equal("{\"a\":{\"signature\":1},\"v\":2}", Canonical("{\"signature\":\"x\",\"v\":2,\"a\":{\"signature\":1}}", SignedMessage.SignatureField));

    [Theory]
    [InlineData("1.5")]
    [InlineData("9007199254740992")]
    [InlineData("1e400")]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("\"\\ud800\"")]
    public void Values_outside_the_protocols_kinds_are_refused(string json) =>
        Assert.ThrowsAny<Exception>(() => Canonical(json));

    [Theory]
    [InlineData("2026-11-24T10:00:03.120Z")]
    [InlineData("2026-11-24t10:00:03.120000000z")]
    [InlineData("2026-11-24T10:00:03.12+00:00")]
    [InlineData("2026-11-24T10:00:03.120-00:00")]
    public void Any_rfc3339_utc_timestamp_is_read(string value)
    {
        Assert.True(ProtocolSigning.TryParseTimestamp(value, out var at), value);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 10, 0, 3, 120, TimeSpan.Zero), at);
    }

    [Theory]
    [InlineData("2026-11-24T12:00:03.120+02:00")]
    [InlineData("2026-11-24 10:00:03Z")]
    [InlineData("2026-11-24T10:00:03")]
    [InlineData("2026-02-30T10:00:03Z")]
    [InlineData("2026-11-24T10:00:03Z\n")]
    [InlineData("２０２６-11-24T10:00:03Z")]
    public void Local_times_and_non_rfc3339_forms_are_refused(string value) =>
        Assert.False(ProtocolSigning.TryParseTimestamp(value, out _), value);
}
