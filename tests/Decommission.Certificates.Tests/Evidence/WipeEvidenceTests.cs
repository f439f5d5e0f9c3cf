using System.Security.Cryptography;
using Decommission.Contracts;
using Decommission.DeviceProtocol;

namespace Decommission.Certificates.Tests.Evidence;

/// <summary>The check a Purge certificate rests on: each way a forger with a broker credential could bend the evidence is caught by name.</summary>
public sealed class WipeEvidenceTests : IDisposable
{
    private const string Device = "meter-0042";
    private readonly EvidenceFactory _fleet = new();

    public void Dispose() => _fleet.Dispose();

    [Fact]
    public void Genuine_evidence_verifies_and_names_the_keys_that_signed_it()
    {
        var (wipe, problem) = Verify(_fleet.Evidence(Device));

        Assert.Null(problem);
        Assert.Equal(ProtocolSigning.KeyId(_fleet.DeviceKey(Device)), wipe!.DeviceKeyId);
        Assert.Equal(ProtocolSigning.KeyId(_fleet.GatewayKey), wipe.CommandKeyId);
        Assert.Equal(wipe.Command.CommandId, wipe.Receipt.CommandId);
    }

    [Fact]
    public void A_forged_receipt_signature_is_refused()
    {
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // Claims the device's key id, but signs with another key.
        var evidence = _fleet.Evidence(Device, receipt: r => r with { KeyId = ProtocolSigning.KeyId(_fleet.DeviceKey(Device)) }, receiptKey: forger);

        AssertRefused(evidence, WipeEvidenceChecks.ReceiptSignatureInvalid);
    }

    [Fact]
    public void A_receipt_signed_by_a_key_that_is_not_the_identitys_is_refused()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        AssertRefused(_fleet.Evidence(Device, receiptKey: other), WipeEvidenceChecks.ReceiptKeyNotIdentity);
    }

    [Fact]
    public void An_identity_not_issued_by_the_fleet_ca_is_refused()
    {
        using var rogueCa = new EvidenceFactory("Rogue CA");
        // A self-consistent chain from another CA: its identity, its device key.
        var evidence = _fleet.Evidence(Device, receiptKey: rogueCa.DeviceKey(Device), identity: rogueCa.Identity(Device));

        AssertRefused(evidence, WipeEvidenceChecks.IdentityNotFromFleetCa);
    }

    [Fact]
    public void An_identity_for_another_device_is_refused()
    {
        var evidence = _fleet.Evidence(Device, receiptKey: _fleet.DeviceKey("meter-0043"), identity: _fleet.Identity("meter-0043"));

        AssertRefused(evidence, WipeEvidenceChecks.IdentityForAnotherDevice);
    }

    [Fact]
    public void A_command_not_signed_by_the_gateway_is_refused()
    {
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        AssertRefused(_fleet.Evidence(Device, commandKey: forger), WipeEvidenceChecks.CommandNotSignedByGateway);
        AssertRefused(_fleet.Evidence(Device, command: c => c with { KeyId = ProtocolSigning.KeyId(_fleet.GatewayKey) }, commandKey: forger),
            WipeEvidenceChecks.CommandNotSignedByGateway);
    }

    [Fact]
    public void A_nonce_mismatch_is_refused()
    {
        AssertRefused(_fleet.Evidence(Device, receipt: r => r with { Nonce = ProtocolSigning.NewNonce() }), WipeEvidenceChecks.NonceMismatch);
    }

    [Fact]
    public void A_command_id_mismatch_is_refused()
    {
        AssertRefused(_fleet.Evidence(Device, receipt: r => r with { CommandId = Guid.NewGuid().ToString() }), WipeEvidenceChecks.CommandIdMismatch);
    }

    [Fact]
    public void Evidence_about_another_device_is_refused()
    {
        // The whole chain is genuine, for meter-0043; the order is for meter-0042.
        AssertRefused(_fleet.Evidence("meter-0043"), WipeEvidenceChecks.IdentityForAnotherDevice);
        // The device signs a receipt naming another device, or answers a command for another device.
        AssertRefused(_fleet.Evidence(Device, receipt: r => r with { DeviceId = "meter-0043" }), WipeEvidenceChecks.ReceiptForAnotherDevice);
        AssertRefused(_fleet.Evidence(Device, command: c => c with { DeviceId = "meter-0043" }), WipeEvidenceChecks.CommandForAnotherDevice);
    }

    [Fact]
    public void A_weak_method_is_refused()
    {
        AssertRefused(_fleet.Evidence(Device, receipt: r => r with { Method = ErasureMethods.Overwrite }), WipeEvidenceChecks.WeakMethod);
    }

    [Fact]
    public void A_failed_self_check_or_erase_is_refused()
    {
        AssertRefused(_fleet.Evidence(Device, receipt: r => r with { SelfCheckPassed = false }), WipeEvidenceChecks.SelfCheckFailed);
        AssertRefused(_fleet.Evidence(Device, receipt: r => r with { Outcome = ErasureMethods.Failed }), WipeEvidenceChecks.NotSucceeded);
    }

    [Fact]
    public void A_receipt_hash_mismatch_is_refused()
    {
        AssertRefused(_fleet.Evidence(Device) with { ReceiptSha256 = new string('a', 64) }, WipeEvidenceChecks.ReceiptHashMismatch);
    }

    [Fact]
    public void Tampered_bytes_are_refused()
    {
        var evidence = _fleet.Evidence(Device);

        AssertRefused(EvidenceFactory.TamperReceipt(evidence, "boot-rom", "nothing!"), WipeEvidenceChecks.ReceiptSignatureInvalid);
        AssertRefused(EvidenceFactory.TamperCommand(evidence, "\"method\":\"CryptographicErase\"", "\"method\":\"Overwrite\""),
            WipeEvidenceChecks.CommandNotSignedByGateway);
        var identity = Convert.FromBase64String(evidence.IdentityCertificate);
        identity[identity.Length - 10] ^= 0x01; // inside the CA's signature
        AssertRefused(evidence with { IdentityCertificate = Convert.ToBase64String(identity) }, WipeEvidenceChecks.IdentityNotFromFleetCa);
    }

    [Fact]
    public void A_receipt_completed_outside_the_commands_lifetime_is_refused()
    {
        var at = DateTimeOffset.UtcNow;
        var evidence = _fleet.Evidence(Device, receipt: r => r with { CompletedAt = ProtocolSigning.Timestamp(at.AddMinutes(13)) }, at: at);

        AssertRefused(evidence, WipeEvidenceChecks.OutsideCommandWindow);
    }

    [Fact]
    public void A_genuine_wipe_presented_for_another_retirement_is_refused()
    {
        var evidence = _fleet.Evidence(Device);

        var (wipe, problem) = Verify(evidence, retirementId: Guid.NewGuid());

        Assert.Null(wipe);
        Assert.Equal(WipeEvidenceChecks.CommandForAnotherRetirement, problem!.Check);
    }

    private (VerifiedWipe? Wipe, WipeEvidenceProblem? Problem) Verify(ErasureEvidence evidence, Guid? retirementId = null) =>
        WipeEvidence.Verify(Convert.FromBase64String(evidence.Receipt), evidence.ReceiptSha256, Convert.FromBase64String(evidence.Command),
            Convert.FromBase64String(evidence.IdentityCertificate), Device, retirementId ?? EvidenceFactory.RetirementOf(evidence), _fleet.FleetCa,
            _fleet.GatewayKey.ExportSubjectPublicKeyInfo());

    private void AssertRefused(ErasureEvidence evidence, string check)
    {
        var (wipe, problem) = Verify(evidence);
        Assert.Null(wipe);
        Assert.True(problem?.Check == check, $"expected {check}, got {problem?.Check}: {problem?.Detail}");
        Assert.False(string.IsNullOrWhiteSpace(problem!.Detail));
    }
}
