using System.Security.Cryptography;
using System.Text;
using Decommission.DeviceProtocol;

namespace Decommission.DeviceAgent.Tests;

/// <summary>The doc's refusal and verdict examples: their canonical bytes, signatures and keys, as a device maker reads them.</summary>
public sealed partial class ProtocolDocumentTests
{
    [Fact]
    public void The_example_refusal_verifies_with_the_example_attestation_key_over_the_canonical_bytes_the_doc_prints()
    {
        var (refusal, problem) = SignedMessage.Parse<EraseRefusal>(Encoding.UTF8.GetBytes(Block("example:refusal")), EraseRefusal.Type);
        Assert.Null(problem);

        Assert.Equal(Block("example:refusal-canonical-hex").Trim(), Convert.ToHexStringLower(refusal!.SignedBytes));
        Assert.Equal(refusal.SignedBytes, refusal.Message.SignedBytes());
        using var key = Key("example:refusal-key");
        Assert.Equal(ProtocolSigning.KeyId(key), refusal.Message.KeyId);
        Assert.True(ProtocolSigning.Verify(key, refusal.SignedBytes, refusal.Message.Signature));
        Assert.Contains(refusal.Message.Reason, RefusalReasons.All);
        Assert.Contains("«Linie 3» <ops&maint>: it's \"locked\" +1", refusal.Message.Detail);
        Assert.Equal(64, Convert.FromBase64String(refusal.Message.Signature).Length);
    }

    [Fact]
    public void The_example_verdict_verifies_with_the_example_command_signing_key_and_names_the_example_receipt()
    {
        var (verdict, problem) = SignedMessage.Parse<EraseVerdict>(Encoding.UTF8.GetBytes(Block("example:verdict")), EraseVerdict.Type);
        Assert.Null(problem);

        Assert.Equal(Block("example:verdict-canonical-hex").Trim(), Convert.ToHexStringLower(verdict!.SignedBytes));
        // The record the gateway signs from yields the same bytes: fields it does not use (refusalSha256, reason) are absent, not null.
        Assert.Equal(verdict.SignedBytes, verdict.Message.SignedBytes());
        using var key = Key("example:verdict-key");
        Assert.Equal(ProtocolSigning.KeyId(key), verdict.Message.KeyId);
        Assert.True(ProtocolSigning.Verify(key, verdict.SignedBytes, verdict.Message.Signature));
        Assert.Equal(EraseVerdict.Accepted, verdict.Message.Verdict);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Block("example:receipt")))), verdict.Message.ReceiptSha256);
        Assert.Equal(64, Convert.FromBase64String(verdict.Message.Signature).Length);
    }
}
