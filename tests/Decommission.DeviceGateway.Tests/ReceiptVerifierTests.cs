using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Decommission.DeviceGateway.Receipts;
using Decommission.DeviceProtocol;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;

/// <summary>Every way a wipe receipt can fail to prove an erase, each with its own reason.</summary>
public sealed class ReceiptVerifierTests : IDisposable
{
    private static readonly DateTimeOffset IssuedAt = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly ECDsa _deviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ReceiptVerifier _verifier = new(TimeSpan.FromMinutes(2));
    private readonly IssuedCommand _command = new(Guid.NewGuid().ToString(), Guid.NewGuid(), "dev-1", "nonce-123",
        IssuedAt, IssuedAt.AddHours(1), Verified: false, VerifiedBySha256: null);

    public void Dispose()
    {
        _deviceKey.Dispose();
        _otherKey.Dispose();
    }

    private WipeReceipt Receipt(Func<WipeReceipt, WipeReceipt>? change = null, ECDsa? signWith = null)
    {
        var key = signWith ?? _deviceKey;
        var receipt = new WipeReceipt
        {
            ReceiptId = "r-1", CommandId = _command.CommandId, DeviceId = "dev-1", Nonce = _command.Nonce,
            Outcome = ErasureMethods.Succeeded, Method = ErasureMethods.CryptographicErase,
            DestroyedKeyIds = ["media-key:ab12cd34"], AreasCovered = ["user-data"], AreasNotCovered = ["boot-rom"],
            SelfCheckPassed = true, SelfCheckDetail = "decryption failed", CompletedAt = ProtocolSigning.Timestamp(IssuedAt.AddMinutes(1)),
            KeyId = ProtocolSigning.KeyId(key),
        };
        receipt = change?.Invoke(receipt) ?? receipt;
        return receipt with { Signature = ProtocolSigning.Sign(key, receipt.SignedBytes()) };
    }

    private ReceiptFacts Facts(IssuedCommand? command = null, bool noCommand = false, byte[]? key = null, IssuedCommand? pending = null) =>
        new(key ?? _deviceKey.ExportSubjectPublicKeyInfo(), noCommand ? null : command ?? _command, pending);

    private ReceiptVerdict Check(WipeReceipt receipt, ReceiptFacts? facts = null, DateTimeOffset? now = null) =>
        _verifier.Verify(Received(receipt), "sha", facts ?? Facts(), now ?? IssuedAt.AddMinutes(2));

    /// <summary>The receipt as the gateway reads it off the wire.</summary>
    private static SignedMessage<WipeReceipt> Received(WipeReceipt receipt) =>
        ReceiptVerifier.Parse(JsonSerializer.SerializeToUtf8Bytes(receipt)).Receipt ?? throw new InvalidOperationException("the receipt does not parse");

    [Fact]
    public void A_genuine_receipt_for_the_issued_command_verifies() =>
        Assert.True(Check(Receipt()).IsVerified);

    [Theory]
    [InlineData("{ not json")]
    [InlineData("{\"type\":\"something-else\"}")]
    [InlineData("{\"v\":2,\"type\":\"decommission.wipe-receipt\",\"commandId\":\"not-a-guid\"}")]
    [InlineData("[\"decommission.wipe-receipt\"]")]
    public void Unreadable_or_incomplete_receipts_are_malformed(string body)
    {
        var (_, _, problem) = ReceiptVerifier.Parse(Encoding.UTF8.GetBytes(body));
        Assert.NotNull(problem);
    }

    [Fact]
    public void A_complete_receipt_parses_without_a_problem()
    {
        var (receipt, sha256, problem) = ReceiptVerifier.Parse(JsonSerializer.SerializeToUtf8Bytes(Receipt()));
        Assert.Null(problem);
        Assert.Equal("dev-1", receipt!.Message.DeviceId);
        Assert.Equal(64, sha256.Length);
    }

    [Fact]
    public void A_receipt_from_a_device_without_a_registered_key_is_rejected() =>
        Assert.Equal(R.UnregisteredKey, _verifier.Verify(Received(Receipt()), "sha", new ReceiptFacts(null, _command, null), IssuedAt).Reason);

    [Fact]
    public void A_receipt_signed_with_a_key_that_is_not_the_devices_registered_one_is_rejected()
    {
        var verdict = Check(Receipt(signWith: _otherKey));
        Assert.Equal(R.UnregisteredKey, verdict.Reason);
        Assert.Contains("not the device's registered attestation key", verdict.Detail);
    }

    [Fact]
    public void A_receipt_altered_after_signing_has_a_bad_signature() =>
        Assert.Equal(R.BadSignature, Check(Receipt() with { AreasNotCovered = [] }).Reason);

    [Fact]
    public void A_receipt_whose_signature_claims_the_right_key_but_was_made_by_another_is_a_bad_signature()
    {
        var forged = Receipt(signWith: _otherKey) with { KeyId = ProtocolSigning.KeyId(_deviceKey) };
        Assert.Equal(R.BadSignature, Check(forged).Reason);
    }

    [Fact]
    public void A_receipt_for_a_command_issued_to_another_device_is_a_device_mismatch()
    {
        var otherDevicesCommand = _command with { DeviceId = "dev-2" };
        Assert.Equal(R.DeviceMismatch, Check(Receipt(), Facts(otherDevicesCommand)).Reason);
    }

    [Fact]
    public void A_receipt_for_a_command_never_issued_is_a_command_mismatch() =>
        Assert.Equal(R.CommandMismatch, Check(Receipt(r => r with { CommandId = Guid.NewGuid().ToString() }), Facts(noCommand: true)).Reason);

    [Fact]
    public void A_receipt_that_does_not_echo_the_nonce_is_a_nonce_mismatch() =>
        Assert.Equal(R.NonceMismatch, Check(Receipt(r => r with { Nonce = "nonce-999" })).Reason);

    [Fact]
    public void An_old_receipt_for_an_earlier_command_is_a_replay()
    {
        var old = Receipt(r => r with { CommandId = Guid.NewGuid().ToString(), Nonce = "old", CompletedAt = ProtocolSigning.Timestamp(IssuedAt.AddDays(-1)) });
        var verdict = Check(old, Facts(noCommand: true, pending: _command));
        Assert.Equal(R.Replay, verdict.Reason);
    }

    [Fact]
    public void A_receipt_for_a_command_already_answered_by_another_receipt_is_a_replay() =>
        Assert.Equal(R.Replay, Check(Receipt(), Facts(_command with { Verified = true, VerifiedBySha256 = "other" })).Reason);

    [Fact]
    public void The_receipt_that_already_verified_its_command_is_a_harmless_duplicate() =>
        Assert.Equal(ReceiptVerdict.Duplicate, Check(Receipt(), Facts(_command with { Verified = true, VerifiedBySha256 = "sha" })).Verdict);

    [Fact]
    public void A_receipt_received_after_the_command_expired_is_rejected() =>
        Assert.Equal(R.Expired, Check(Receipt(), now: _command.ExpiresAt.AddSeconds(1)).Reason);

    [Theory]
    [InlineData(-60, "an hour behind: stamped before the command was issued")]
    [InlineData(10, "ten minutes ahead: stamped after we received it")]
    [InlineData(24 * 60, "a day ahead: stamped after the command expired")]
    public void A_receipt_from_a_clock_too_far_off_is_rejected_for_clock_skew(int minutesOff, string why)
    {
        // The device answered half a minute after the command was issued; the gateway received it a minute after that.
        var receivedAt = IssuedAt.AddSeconds(90);
        var receipt = Receipt(r => r with { CompletedAt = ProtocolSigning.Timestamp(IssuedAt.AddSeconds(30).AddMinutes(minutesOff)) });
        var verdict = Check(receipt, now: receivedAt);
        Assert.True(verdict.Reason == R.ClockSkew, $"{why}: {verdict.Reason} {verdict.Detail}");
    }

    [Fact]
    public void A_clock_three_minutes_behind_is_skew_not_replay_and_within_the_window_it_verifies()
    {
        // Answered at once: its time lies 2.5 minutes before the command was issued, beyond the 2 minutes allowed.
        var atOnce = Receipt(r => r with { CompletedAt = ProtocolSigning.Timestamp(IssuedAt.AddSeconds(30).AddMinutes(-3)) });
        Assert.Equal(R.ClockSkew, Check(atOnce, now: IssuedAt.AddSeconds(31)).Reason);
        // Answered ten minutes later (it was offline): its time lies inside the window, so the receipt verifies.
        var later = Receipt(r => r with { CompletedAt = ProtocolSigning.Timestamp(IssuedAt.AddMinutes(10 - 3)) });
        Assert.True(Check(later, now: IssuedAt.AddMinutes(10)).IsVerified);
    }

    [Fact]
    public void A_clock_a_little_ahead_within_the_skew_verifies() =>
        Assert.True(Check(Receipt(r => r with { CompletedAt = ProtocolSigning.Timestamp(IssuedAt.AddMinutes(3)) }), now: IssuedAt.AddMinutes(2)).IsVerified);

    [Theory]
    [InlineData(ErasureMethods.Overwrite)]
    [InlineData(ErasureMethods.FactoryReset)]
    public void A_method_weaker_than_cryptographic_erase_does_not_meet_policy(string method) =>
        Assert.Equal(R.WeakMethod, Check(Receipt(r => r with { Method = method })).Reason);

    [Fact]
    public void A_device_that_reports_failure_is_rejected() =>
        Assert.Equal(R.DeviceReportedFailure, Check(Receipt(r => r with { Outcome = ErasureMethods.Failed })).Reason);

    [Fact]
    public void A_device_whose_own_check_could_still_decrypt_is_rejected() =>
        Assert.Equal(R.DeviceReportedFailure, Check(Receipt(r => r with { SelfCheckPassed = false })).Reason);
}
