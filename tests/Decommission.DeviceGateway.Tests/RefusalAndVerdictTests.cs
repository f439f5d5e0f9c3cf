using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Decommission.DeviceGateway.Commands;
using Decommission.DeviceGateway.Receipts;
using Decommission.DeviceProtocol;
using Decommission.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;

/// <summary>Refusals checked like receipts; verdicts and the next command-signing key as the gateway makes them.</summary>
public sealed class RefusalAndVerdictTests : IDisposable
{
    private static readonly DateTimeOffset IssuedAt = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly ECDsa _deviceKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly RefusalVerifier _verifier = new(TimeSpan.FromMinutes(2));
    private readonly IssuedCommand _command = new(Guid.NewGuid().ToString(), Guid.NewGuid(), "dev-1", "nonce-123",
        IssuedAt, IssuedAt.AddHours(1), Verified: false, VerifiedBySha256: null);
    private readonly string _directory = Directory.CreateTempSubdirectory("decom-keys-").FullName;

    public void Dispose()
    {
        _deviceKey.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private byte[] Refusal(Func<EraseRefusal, EraseRefusal>? change = null, ECDsa? signWith = null)
    {
        var key = signWith ?? _deviceKey;
        var refusal = new EraseRefusal
        {
            RefusalId = "f-1", CommandId = _command.CommandId, DeviceId = "dev-1", Nonce = _command.Nonce, Reason = RefusalReasons.HardwareFault,
            Detail = "secure element \u001b[31mbusy\u001b[0m\nfake log line", RefusedAt = ProtocolSigning.Timestamp(IssuedAt.AddMinutes(1)), KeyId = ProtocolSigning.KeyId(key),
        };
        refusal = change?.Invoke(refusal) ?? refusal;
        return JsonSerializer.SerializeToUtf8Bytes(refusal with { Signature = ProtocolSigning.Sign(key, refusal.SignedBytes()) });
    }

    private ReceiptVerdict Check(byte[] body, IssuedCommand? command = null)
    {
        var (signed, sha256, problem) = RefusalVerifier.Parse(body);
        return problem is not null
            ? ReceiptVerdict.Reject(R.Malformed, problem)
            : _verifier.Verify(signed!, sha256, new ReceiptFacts(_deviceKey.ExportSubjectPublicKeyInfo(), command ?? _command, null), IssuedAt.AddMinutes(2));
    }

    [Fact]
    public void A_genuine_refusal_verifies_with_the_devices_reason_and_its_text_made_safe()
    {
        var verdict = Check(Refusal());

        Assert.True(verdict.IsVerified);
        Assert.Equal(R.DeviceRefused, verdict.Reason);
        Assert.Equal("HardwareFault: secure element \\u001b[31mbusy\\u001b[0m\\u000afake log line", verdict.Detail);
    }

    [Fact]
    public void Refusals_that_are_not_the_devices_own_answer_to_its_command_are_rejected_each_with_its_reason()
    {
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Equal(R.UnregisteredKey, Check(Refusal(signWith: forger)).Reason);
        Assert.Equal(R.BadSignature, Check(Refusal(r => r with { KeyId = ProtocolSigning.KeyId(_deviceKey) }, signWith: forger)).Reason);
        Assert.Equal(R.NonceMismatch, Check(Refusal(r => r with { Nonce = "guess" })).Reason);
        Assert.Equal(R.Malformed, Check(Refusal(r => r with { Reason = "BecauseISaySo" })).Reason);
        Assert.Equal(R.ClockSkew, Check(Refusal(r => r with { RefusedAt = ProtocolSigning.Timestamp(IssuedAt.AddDays(1)) })).Reason);
        Assert.Equal(R.Replay, Check(Refusal(), _command with { Verified = true, VerifiedBySha256 = "another" }).Reason);
    }

    [Fact]
    public void The_refusal_that_already_ended_its_command_delivered_again_is_a_duplicate()
    {
        var body = Refusal();
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(body));

        Assert.Equal(ReceiptVerdict.Duplicate, Check(body, _command with { VerifiedBySha256 = sha256, Refused = true }).Verdict);
    }

    private CommandSigningKey SigningKey(string current, string? next = null) => new(Options.Create(new DeviceGatewayOptions
    {
        SigningKeyPath = Path.Combine(_directory, current), NextSigningKeyPath = next is null ? null : Path.Combine(_directory, next),
    }), NullLogger<CommandSigningKey>.Instance);

    [Fact]
    public void A_verdict_is_signed_by_the_current_key_over_its_rfc8785_bytes_without_the_fields_it_does_not_use()
    {
        using var key = SigningKey("command-signing.key.pem");
        var verdict = key.Sign(new EraseVerdict
        {
            VerdictId = "v-1", CommandId = _command.CommandId, DeviceId = "dev-ü<1>", ReceiptSha256 = new string('a', 64),
            Verdict = EraseVerdict.Accepted, DecidedAt = ProtocolSigning.Timestamp(IssuedAt),
        });

        var (received, problem) = SignedMessage.Parse<EraseVerdict>(JsonSerializer.SerializeToUtf8Bytes(verdict), EraseVerdict.Type);
        Assert.Null(problem);
        var canonical = Encoding.UTF8.GetString(received!.SignedBytes);
        Assert.StartsWith("{\"commandId\":", canonical);
        Assert.Contains("\"deviceId\":\"dev-ü<1>\"", canonical);
        Assert.DoesNotContain("refusalSha256", canonical);
        Assert.DoesNotContain("reason", canonical);
        using var publicKey = ECDsa.Create();
        publicKey.ImportFromPem(File.ReadAllText(key.PublicKeyPath));
        Assert.Equal(key.KeyId, verdict.KeyId);
        Assert.True(ProtocolSigning.Verify(publicKey, received.SignedBytes, verdict.Signature));
    }

    [Fact]
    public void The_next_key_is_kept_owner_only_beside_the_current_one_and_after_the_swap_only_devices_provisioned_with_it_obey()
    {
        string oldKeyId, newKeyId;
        byte[] oldPublic, newPublic;
        using (var before = SigningKey("command-signing.key.pem", next: "command-signing-next.key.pem"))
        {
            Assert.True(OwnerOnlyFile.IsOwnerOnly(Path.Combine(_directory, "command-signing-next.key.pem")));
            Assert.Equal(Path.Combine(_directory, "command-signing-next.pub.pem"), before.NextPublicKeyPath);
            (oldKeyId, newKeyId) = (before.KeyId, before.NextKeyId!);
            (oldPublic, newPublic) = (before.PublicKeys[0], before.PublicKeys[1]);
            Assert.Equal(oldKeyId, before.Sign(new EraseCommand { DeviceId = "dev-1" }).KeyId);
        }

        // Promotion: restart with the paths swapped.
        using var after = SigningKey("command-signing-next.key.pem", next: "command-signing.key.pem");
        Assert.Equal((newKeyId, oldKeyId), (after.KeyId, after.NextKeyId));
        using var both = new DeviceAgent.SimulatedDevice(new DeviceAgent.DeviceSpec { Id = "dev-both" }, [oldPublic, newPublic], IssuedAt);
        using var oldOnly = new DeviceAgent.SimulatedDevice(new DeviceAgent.DeviceSpec { Id = "dev-old" }, [oldPublic], IssuedAt);
        byte[] CommandFor(string deviceId) => JsonSerializer.SerializeToUtf8Bytes(after.Sign(new EraseCommand
        {
            CommandId = Guid.NewGuid().ToString(), DeviceId = deviceId, Nonce = ProtocolSigning.NewNonce(),
            IssuedAt = ProtocolSigning.Timestamp(IssuedAt), ExpiresAt = ProtocolSigning.Timestamp(IssuedAt.AddHours(1)),
        }));

        Assert.NotNull(both.Receive(CommandFor(both.Id), IssuedAt));
        Assert.Null(oldOnly.Receive(CommandFor(oldOnly.Id), IssuedAt));
        Assert.True(both.IsErased);
        Assert.False(oldOnly.IsErased);
    }
}
