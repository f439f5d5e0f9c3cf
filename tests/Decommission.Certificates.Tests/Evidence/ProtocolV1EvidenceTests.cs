using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Decommission.Contracts;
using Decommission.DeviceProtocol;

namespace Decommission.Certificates.Tests.Evidence;

/// <summary>Certificates issued under protocol v1 re-check their evidence: its v1 signed bytes (a JSON array) still verify.</summary>
public sealed class ProtocolV1EvidenceTests : IDisposable
{
    private const string Device = "meter-0042";
    private readonly EvidenceFactory _fleet = new();

    public void Dispose() => _fleet.Dispose();

    [Fact]
    public void Evidence_signed_under_protocol_v1_still_verifies()
    {
        var (wipe, problem) = Verify(V1(_fleet.Evidence(Device)));
        Assert.True(problem is null, $"{problem?.Check}: {problem?.Detail}");
        Assert.Equal(ProtocolSigning.KeyId(_fleet.DeviceKey(Device)), wipe!.DeviceKeyId);
    }

    [Fact]
    public void Protocol_v1_evidence_altered_after_signing_is_refused()
    {
        var evidence = EvidenceFactory.TamperReceipt(V1(_fleet.Evidence(Device)), "boot-rom", "nothing!");
        Assert.Equal(WipeEvidenceChecks.ReceiptSignatureInvalid, Verify(evidence).Problem?.Check);
    }

    /// <summary>The same erase as a v1 gateway and device wrote it: no "v", v1 types, signatures over v1's JSON arrays.</summary>
    private ErasureEvidence V1(ErasureEvidence evidence)
    {
        var command = JsonNode.Parse(Convert.FromBase64String(evidence.Command))!.AsObject();
        command.Remove("v");
        command["type"] = "decommission.erase-command.v2";
        var c = command.Deserialize<EraseCommand>()!;
        command["signature"] = ProtocolSigning.Sign(_fleet.GatewayKey, JsonSerializer.SerializeToUtf8Bytes(
            new[] { "decommission.erase-command.v2", c.CommandId, c.DeviceId, c.RetirementId, c.Nonce, c.IssuedAt, c.ExpiresAt, c.Method, c.KeyId }));

        var receipt = JsonNode.Parse(Convert.FromBase64String(evidence.Receipt))!.AsObject();
        receipt.Remove("v");
        receipt["type"] = "decommission.wipe-receipt.v1";
        var r = receipt.Deserialize<WipeReceipt>()!;
        receipt["signature"] = ProtocolSigning.Sign(_fleet.DeviceKey(Device), JsonSerializer.SerializeToUtf8Bytes(new object[]
        {
            "decommission.wipe-receipt.v1", r.ReceiptId, r.CommandId, r.DeviceId, r.Nonce, r.Outcome, r.Method,
            r.DestroyedKeyIds, r.AreasCovered, r.AreasNotCovered, r.SelfCheckPassed, r.SelfCheckDetail, r.CompletedAt, r.KeyId,
        }));
        var receiptBytes = JsonSerializer.SerializeToUtf8Bytes(receipt);
        return evidence with
        {
            Command = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(command)),
            Receipt = Convert.ToBase64String(receiptBytes),
            ReceiptSha256 = Convert.ToHexStringLower(SHA256.HashData(receiptBytes)),
        };
    }

    private (VerifiedWipe? Wipe, WipeEvidenceProblem? Problem) Verify(ErasureEvidence evidence) =>
        WipeEvidence.Verify(Convert.FromBase64String(evidence.Receipt), evidence.ReceiptSha256, Convert.FromBase64String(evidence.Command),
            Convert.FromBase64String(evidence.IdentityCertificate), Device, EvidenceFactory.RetirementOf(evidence), _fleet.FleetCa,
            _fleet.GatewayKey.ExportSubjectPublicKeyInfo());
}
