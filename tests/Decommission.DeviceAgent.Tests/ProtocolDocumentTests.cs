using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Decommission.DeviceProtocol;
using Decommission.Testing;

namespace Decommission.DeviceAgent.Tests;

/// <summary>
/// docs/device-protocol.md is what a device maker builds from: its test vector and its example messages must verify with
/// the keys it prints, and its rules must be the ones our code applies.
/// </summary>
public sealed partial class ProtocolDocumentTests
{
    private static readonly Lazy<Dictionary<string, string>> Blocks = new(ReadBlocks);

    private static Dictionary<string, string> ReadBlocks()
    {
        // The repository's root, from tests/Decommission.DeviceAgent.Tests/bin/<Configuration>/<tfm>/.
        var root = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var doc = File.ReadAllText(Path.Combine(root, "docs", "device-protocol.md")).ReplaceLineEndings("\n");
        return TaggedBlock().Matches(doc).ToDictionary(m => m.Groups["tag"].Value, m => m.Groups["body"].Value);
    }

    private static string Block(string tag) =>
        Blocks.Value.TryGetValue(tag, out var body) ? body : throw new Xunit.Sdk.XunitException($"docs/device-protocol.md has no block tagged {tag}");

    private static ECDsa Key(string tag)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(Block(tag));
        return key;
    }

    [Fact]
    public void The_test_vectors_canonical_bytes_are_what_our_canonicalization_computes_and_its_signature_verifies()
    {
        using var document = JsonDocument.Parse(Block("vector:object"));
        var canonical = JsonCanonicalization.Canonicalize(document.RootElement, SignedMessage.SignatureField);

        Assert.Equal(Block("vector:canonical-hex").Trim(), Convert.ToHexStringLower(canonical));
        var text = Encoding.UTF8.GetString(canonical);
        Assert.Contains("Zürich \\\"quoted\\\" it's <a> & b+c", text);
        using var key = Key("vector:key");
        Assert.Equal(document.RootElement.GetProperty("keyId").GetString(), ProtocolSigning.KeyId(key));
        Assert.True(ProtocolSigning.Verify(key, canonical, document.RootElement.GetProperty("signature").GetString()));
    }

    [Fact]
    public void The_example_command_verifies_with_the_example_command_signing_key()
    {
        var (command, problem) = SignedMessage.Parse<EraseCommand>(Encoding.UTF8.GetBytes(Block("example:command")), EraseCommand.Type);
        Assert.Null(problem);
        using var key = Key("example:command-key");
        Assert.Equal(ProtocolSigning.KeyId(key), command!.Message.KeyId);
        Assert.True(ProtocolSigning.Verify(key, command.SignedBytes, command.Message.Signature));
        // The record the gateway signs from yields the same bytes: gateway and device agree on the command.
        Assert.Equal(command.SignedBytes, command.Message.SignedBytes());
    }

    [Theory]
    [InlineData("example:receipt")]
    [InlineData("example:receipt-as-python-writes-it")]
    public void The_example_receipt_verifies_with_the_example_attestation_key_in_either_encoding(string tag)
    {
        var (receipt, problem) = SignedMessage.Parse<WipeReceipt>(Encoding.UTF8.GetBytes(Block(tag)), WipeReceipt.Type);
        Assert.Null(problem);
        using var key = Key("example:receipt-key");
        Assert.Equal(ProtocolSigning.KeyId(key), receipt!.Message.KeyId);
        Assert.True(ProtocolSigning.Verify(key, receipt.SignedBytes, receipt.Message.Signature));
        Assert.Contains("«Zähler» <A&B> it's \"done\" +1", receipt.Message.SelfCheckDetail);
    }

    [Fact]
    public void The_example_signatures_are_p1363_not_der()
    {
        foreach (var tag in new[] { "example:command", "example:receipt", "vector:object" })
        {
            using var document = JsonDocument.Parse(Block(tag));
            Assert.Equal(64, Convert.FromBase64String(document.RootElement.GetProperty("signature").GetString()!).Length);
        }
    }

    [Fact]
    public async Task Openssl_verifies_the_example_receipts_signature_converted_to_der()
    {
        var (receipt, _) = SignedMessage.Parse<WipeReceipt>(Encoding.UTF8.GetBytes(Block("example:receipt")), WipeReceipt.Type);
        var directory = Directory.CreateTempSubdirectory("decom-doc-");
        try
        {
            var (data, signature, key) = (Path.Combine(directory.FullName, "receipt.signed"), Path.Combine(directory.FullName, "receipt.sig.der"),
                Path.Combine(directory.FullName, "attestation.pub.pem"));
            await File.WriteAllBytesAsync(data, receipt!.SignedBytes);
            await File.WriteAllBytesAsync(signature, ProtocolSigning.ToDerSignature(receipt.Message.Signature));
            await File.WriteAllTextAsync(key, Block("example:receipt-key"));

            var (exit, output) = await Openssl("dgst", "-sha256", "-verify", key, "-signature", signature, data);
            Assert.True(exit == 0, output);
            Assert.Contains("Verified OK", output);

            await File.WriteAllBytesAsync(data, [.. receipt.SignedBytes, (byte)' ']);
            Assert.NotEqual(0, (await Openssl("dgst", "-sha256", "-verify", key, "-signature", signature, data)).Exit);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static Task<(int Exit, string Output)> Openssl(params string[] arguments) => ExternalTool.Run("openssl", arguments);

    [GeneratedRegex(@"^```\w+ (?<tag>[\w:-]+)\n(?<body>.*?)\n```$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex TaggedBlock();
}
