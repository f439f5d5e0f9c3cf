using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Decommission.DeviceGateway.Receipts;
using Decommission.DeviceProtocol;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;

/// <summary>A receipt verifies however the device's JSON library wrote it, and the version rule holds.</summary>
public sealed class ReceiptEncodingTests : IDisposable
{
    private static readonly DateTimeOffset IssuedAt = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly ECDsa _deviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly IssuedCommand _command = new(Guid.NewGuid().ToString(), Guid.NewGuid(), "dev-ü<1>", "nonce-123",
        IssuedAt, IssuedAt.AddHours(1), Verified: false, VerifiedBySha256: null);

    public void Dispose() => _deviceKey.Dispose();

    /// <summary>A receipt whose text holds what JSON libraries escape differently, signed over its canonical bytes.</summary>
    private JsonObject SignedReceipt(Action<JsonObject>? change = null)
    {
        var receipt = new JsonObject
        {
            ["v"] = 2, ["type"] = WipeReceipt.Type, ["receiptId"] = "r-1", ["commandId"] = _command.CommandId, ["deviceId"] = _command.DeviceId,
            ["nonce"] = _command.Nonce, ["outcome"] = ErasureMethods.Succeeded, ["method"] = ErasureMethods.CryptographicErase,
            ["destroyedKeyIds"] = new JsonArray("media-key:ab12", "slot:user"), ["areasCovered"] = new JsonArray("user-data"),
            ["areasNotCovered"] = new JsonArray("boot-rom \"ROM\" & <radio>"), ["selfCheckPassed"] = true,
            ["selfCheckDetail"] = "Zähler: 64 Datensätze — it's \"gone\" <a&b> 1+1 \u6771\u4eac \U0001F512 tab\there",
            ["completedAt"] = "2026-11-24t10:00:30.123456789+00:00", ["keyId"] = ProtocolSigning.KeyId(_deviceKey),
            ["vendorExtension"] = new JsonObject { ["firmware"] = "2.4.1" },
        };
        change?.Invoke(receipt);
        using var document = JsonDocument.Parse(receipt.ToJsonString());
        receipt["signature"] = ProtocolSigning.Sign(_deviceKey, JsonCanonicalization.Canonicalize(document.RootElement, SignedMessage.SignatureField));
        return receipt;
    }

    private ReceiptVerdict Verify(byte[] body)
    {
        var (signed, sha256, problem) = ReceiptVerifier.Parse(body);
        Assert.True(problem is null, problem);
        return new ReceiptVerifier(TimeSpan.FromMinutes(2)).Verify(signed!, sha256, new ReceiptFacts(_deviceKey.ExportSubjectPublicKeyInfo(), _command, null),
            IssuedAt.AddMinutes(1));
    }

    public static TheoryData<string> Encoders => ["ascii-only escapes, like Python's json.dumps", ".NET's default escaping", "raw UTF-8, indented"];

    [Theory]
    [MemberData(nameof(Encoders))]
    public void A_receipt_verifies_whichever_way_its_json_library_escapes_it(string encoder)
    {
        var receipt = SignedReceipt();
        var body = encoder switch
        {
            "ascii-only escapes, like Python's json.dumps" => Encoding.ASCII.GetBytes(AsciiOnly(receipt)),
            ".NET's default escaping" => Encoding.UTF8.GetBytes(receipt.ToJsonString()),
            _ => Encoding.UTF8.GetBytes(receipt.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping })),
        };
        var verdict = Verify(body);
        Assert.True(verdict.IsVerified, $"{verdict.Reason}: {verdict.Detail}");
    }

    [Fact]
    public void An_unknown_field_is_covered_by_the_signature()
    {
        var receipt = SignedReceipt();
        receipt["vendorExtension"]!["firmware"] = "6.6.6";
        Assert.Equal(R.BadSignature, Verify(Encoding.UTF8.GetBytes(receipt.ToJsonString())).Reason);
    }

    [Theory]
    [InlineData(null, "no protocol version")]
    [InlineData(1, "unsupported protocol version 1")]
    [InlineData(3, "unsupported protocol version 3")]
    public void A_receipt_of_another_major_version_is_malformed_with_that_reason(int? version, string problem)
    {
        var receipt = SignedReceipt(r => { if (version is null) r.Remove("v"); else r["v"] = version; });
        var (_, _, found) = ReceiptVerifier.Parse(Encoding.UTF8.GetBytes(receipt.ToJsonString()));
        Assert.Contains(problem, found);
    }

    [Theory]
    [InlineData("2026-11-24T12:00:30.000+02:00")]
    [InlineData("yesterday")]
    public void A_receipt_stamped_with_a_local_or_unreadable_time_is_malformed(string completedAt)
    {
        var receipt = SignedReceipt(r => r["completedAt"] = completedAt);
        var (_, _, found) = ReceiptVerifier.Parse(Encoding.UTF8.GetBytes(receipt.ToJsonString()));
        Assert.Contains("completedAt", found);
    }

    [Fact]
    public void A_receipt_holding_a_fraction_is_malformed()
    {
        var receipt = SignedReceipt();
        receipt["battery"] = 0.5;
        var (_, _, found) = ReceiptVerifier.Parse(Encoding.UTF8.GetBytes(receipt.ToJsonString()));
        Assert.Contains("not an integer", found);
    }

    /// <summary>JSON as Python writes it by default: every non-ASCII character \u-escaped, spaces after separators.</summary>
    private static string AsciiOnly(JsonNode node) => node switch
    {
        JsonObject o => "{" + string.Join(", ", o.Reverse().Select(p => $"{AsciiString(p.Key)}: {AsciiOnly(p.Value!)}")) + "}",
        JsonArray a => "[" + string.Join(", ", a.Select(e => AsciiOnly(e!))) + "]",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => AsciiString(v.GetValue<string>()),
        _ => node.ToJsonString(),
    };

    private static string AsciiString(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in text)
            builder.Append(c is >= ' ' and < (char)0x7f and not '"' and not '\\' ? c.ToString() : $"\\u{(int)c:x4}");
        return builder.Append('"').ToString();
    }
}
