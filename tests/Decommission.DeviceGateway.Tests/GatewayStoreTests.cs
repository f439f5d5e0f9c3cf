using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dapper;
using Decommission.Contracts;
using Decommission.DeviceGateway.Commands;
using Decommission.DeviceGateway.Receipts;
using Decommission.DeviceProtocol;
using Decommission.Storage;
using Decommission.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using R = Decommission.Contracts.ReceiptRejectionReasons;

namespace Decommission.DeviceGateway.Tests;

/// <summary>
/// The gateway's stores on both engines, as two replicas use them: two database objects (two connection pools, two group
/// commits) on one SQLite file or one PostgreSQL schema, writing at the same moment.
/// </summary>
public sealed class GatewayStoreTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 5, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("decom-gateway-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static async Task<(GatewayDatabase A, GatewayDatabase B)> Replicas(SqlDialect engine)
    {
        var location = PostgresServer.NewLocation(engine, "gateway");
        var (a, b) = (new GatewayDatabase(location), new GatewayDatabase(location));
        await Task.WhenAll(a.MigrateAsync(), b.MigrateAsync());
        return (a, b);
    }

    /// <summary>Runs both at once: each waits for the other to be ready before it writes.</summary>
    private static async Task<(T A, T B)> Together<T>(Func<Task<T>> a, Func<Task<T>> b)
    {
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = Task.Run(async () => { await go.Task; return await a(); });
        var second = Task.Run(async () => { await go.Task; return await b(); });
        go.SetResult();
        return (await first, await second);
    }

    private CommandSigningKey SigningKey(string file = "command-signing.key.pem", string? password = null, bool createWhenAbsent = true) =>
        new(Options.Create(new DeviceGatewayOptions { SigningKeyPath = Path.Combine(_directory, file), SigningKeyPassword = password }),
            NullLogger<CommandSigningKey>.Instance, createWhenAbsent);

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Two_replicas_taking_one_erase_order_at_once_keep_one_signed_command_and_both_send_it(SqlDialect engine)
    {
        var (a, b) = await Replicas(engine);
        using var key = SigningKey();
        var stores = (A: new EraseCommandStore(a), B: new EraseCommandStore(b));

        for (var i = 0; i < 12; i++)
        {
            var (commandId, retirementId, nonce) = (Guid.NewGuid(), Guid.NewGuid(), ProtocolSigning.NewNonce());
            // Neither replica found the command when the order arrived: each signed a copy of its own (its own clock, its own signature).
            EraseCommand Signed(DateTimeOffset at) => key.Sign(new EraseCommand
            {
                CommandId = commandId.ToString(), DeviceId = $"dev-{i}", RetirementId = retirementId.ToString(), Nonce = nonce,
                IssuedAt = ProtocolSigning.Timestamp(at), ExpiresAt = ProtocolSigning.Timestamp(Now.AddHours(1)), Method = ErasureMethods.CryptographicErase,
            });
            var (copyA, copyB) = (Signed(Now), Signed(Now.AddMilliseconds(7)));
            Assert.NotEqual(System.Text.Json.JsonSerializer.Serialize(copyA), System.Text.Json.JsonSerializer.Serialize(copyB));

            var (sentA, sentB) = await Together(
                () => stores.A.RecordAttemptAsync(commandId, retirementId, copyA, Now.AddHours(1), attempt: 1, Now),
                () => stores.B.RecordAttemptAsync(commandId, retirementId, copyB, Now.AddHours(1), attempt: 2, Now));

            // Both send the one command that was stored, whichever replica stored it; a later attempt re-sends it as well.
            Assert.Equal(sentA, sentB);
            Assert.Contains(sentA, new[] { System.Text.Json.JsonSerializer.Serialize(copyA), System.Text.Json.JsonSerializer.Serialize(copyB) });
            Assert.Equal(sentA, await stores.B.RecordAttemptAsync(commandId, retirementId, null, Now.AddHours(1), attempt: 3, Now));
            var stored = await stores.A.FindAsync(commandId.ToString(), CancellationToken.None);
            Assert.Equal(sentA, stored!.Body);
        }
        await using var connection = await a.OpenAsync();
        Assert.Equal(12L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM erase_commands;"));
        Assert.Equal(new long[] { 3 }, (await connection.QueryAsync<long>("SELECT DISTINCT attempts FROM erase_commands;")).ToArray());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Answers_to_one_command_checked_on_two_replicas_at_once_end_it_once_and_the_rest_are_duplicates_or_replays(SqlDialect engine)
    {
        var (a, b) = await Replicas(engine);
        var stores = new[] { new EraseCommandStore(a), new EraseCommandStore(b) };
        using var key = SigningKey();

        for (var i = 0; i < 15; i++)
        {
            var commandId = Guid.NewGuid();
            var retirementId = Guid.NewGuid();
            await stores[0].RecordAttemptAsync(commandId, retirementId, key.Sign(new EraseCommand
            {
                CommandId = commandId.ToString(), DeviceId = $"dev-{i}", RetirementId = retirementId.ToString(), Nonce = ProtocolSigning.NewNonce(),
                IssuedAt = ProtocolSigning.Timestamp(Now), ExpiresAt = ProtocolSigning.Timestamp(Now.AddHours(1)),
            }), Now.AddHours(1), 1, Now);
            // The device's receipt arrives twice (a copy on each replica), and a refusal of the same command: all three checked
            // against the command while it was still pending, so every check passed.
            ReceivedReceipt Answer(string sha256, string type) =>
                new(sha256, commandId.ToString(), $"dev-{i}", retirementId, [1, 2, 3], Now.AddSeconds(5)) { MessageType = type };
            var receipt = Answer($"receipt-{i}", WipeReceipt.Type);
            var refusal = Answer($"refusal-{i}", EraseRefusal.Type);
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var checks = new[] { (stores[0], receipt), (stores[1], receipt), (stores[1], refusal) }
                .Select(c => Task.Run(async () => { await go.Task; return await c.Item1.RecordReceiptAsync(c.Item2, ReceiptVerdict.Ok()); })).ToArray();
            go.SetResult();
            var verdicts = await Task.WhenAll(checks);

            var command = (await stores[1].FindAsync(commandId.ToString(), CancellationToken.None))!;
            Assert.Single(verdicts, v => v.IsVerified);
            Assert.True(command.Answered);
            if (command.VerifiedBySha256 == receipt.Sha256)
            {
                // The receipt ended it: its other copy is the same answer again, the refusal came too late.
                Assert.True(command.Verified);
                Assert.Equal(ReceiptVerdict.Duplicate, verdicts[verdicts[0].IsVerified ? 1 : 0].Verdict);
                Assert.Equal(R.Replay, verdicts[2].Reason);
            }
            else
            {
                Assert.Equal(refusal.Sha256, command.VerifiedBySha256);
                Assert.True(command.Refused);
                Assert.Equal([R.Replay, R.Replay], verdicts[..2].Select(v => v.Reason));
            }
        }
        await using var connection = await a.OpenAsync();
        Assert.Equal(15L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM receipts WHERE verdict = 'Verified';"));
        Assert.Equal(45L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM receipts;"));
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Two_replicas_registering_different_keys_for_one_device_at_once_keep_one_with_its_own_certificate_and_refuse_the_other(SqlDialect engine)
    {
        var (a, b) = await Replicas(engine);
        var stores = (A: new AttestationKeyStore(a), B: new AttestationKeyStore(b));

        for (var i = 0; i < 30; i++)
        {
            var deviceId = $"dev-{i}";
            AttestationKey Offered(string who)
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var publicKey = key.ExportSubjectPublicKeyInfo();
                // The certificate stands for the one issued over this key: its bytes name the key.
                return new AttestationKey(deviceId, publicKey, ProtocolSigning.KeyId(publicKey), System.Text.Encoding.UTF8.GetBytes($"{who}:{ProtocolSigning.KeyId(publicKey)}"));
            }
            var (offerA, offerB) = (Offered("a"), Offered("b"));

            var (resultA, resultB) = await Together(
                () => stores.A.RegisterAsync([offerA], "enrollment-a", Now),
                () => stores.B.RegisterAsync([offerB], "enrollment-b", Now));

            // One key is kept, with the certificate over that very key; the other replica says its key was refused.
            Assert.Equal(1, resultA.Registered.Count + resultB.Registered.Count);
            var (kept, refused, conflicts) = resultA.Registered.Count == 1 ? (offerA, offerB, resultB.Conflicts) : (offerB, offerA, resultA.Conflicts);
            var conflict = Assert.Single(conflicts);
            Assert.Equal((deviceId, kept.KeyId, refused.KeyId), (conflict.DeviceId, conflict.StoredKeyId, conflict.OfferedKeyId));
            var stored = await stores.B.FindAsync(deviceId, CancellationToken.None);
            Assert.Equal(kept.PublicKey, stored!.PublicKey);
            Assert.Equal(kept.IdentityCertificate, stored.IdentityCertificate);

            // Enrolled again with the kept key, on either replica: the newer certificate is taken.
            var renewed = kept with { IdentityCertificate = [.. kept.IdentityCertificate, 0x2a] };
            Assert.Equal([deviceId], (await stores.B.RegisterAsync([renewed], "enrollment-b", Now)).Registered);
            Assert.Equal(renewed.IdentityCertificate, (await stores.A.FindAsync(deviceId, CancellationToken.None))!.IdentityCertificate);
        }
        Assert.Equal(30, await stores.A.CountAsync());
    }

    [Theory]
    [MemberData(nameof(PostgresServer.Engines), MemberType = typeof(PostgresServer))]
    public async Task Quarantines_and_legal_holds_announced_to_two_replicas_at_once_keep_one_quarantine_and_the_newest_hold(SqlDialect engine)
    {
        var (a, b) = await Replicas(engine);
        var stores = (A: new ErasePreconditionStore(a), B: new ErasePreconditionStore(b));
        var retirementId = Guid.NewGuid();

        // The same announcement delivered to both replicas (a redelivery after a lost acknowledgement).
        await Together(async () => { await stores.A.RecordQuarantineAsync(retirementId, "dev-q", Now); return 0; },
            async () => { await stores.B.RecordQuarantineAsync(retirementId, "dev-q", Now); return 0; });
        Assert.True(await stores.B.IsQuarantinedAsync(retirementId, "dev-q", CancellationToken.None));
        Assert.False(await stores.B.IsQuarantinedAsync(retirementId, "dev-other", CancellationToken.None));

        // Hold, release, hold again: announced in that order, delivered to the two replicas in any order, at once.
        var changes = Enumerable.Range(0, 12).Select(i => (Held: i % 2 == 0, Reason: $"change {i}", At: Now.AddSeconds(i))).ToList();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var deliveries = changes.OrderBy(_ => Random.Shared.Next()).Select((c, n) => Task.Run(async () =>
        {
            await go.Task;
            await (n % 2 == 0 ? stores.A : stores.B).RecordLegalHoldAsync("dev-h", c.Held, c.Reason, "legal", c.At);
        })).ToArray();
        go.SetResult();
        await Task.WhenAll(deliveries);
        Assert.Null(await stores.A.HoldReasonAsync("dev-h", CancellationToken.None)); // the newest (change 11) released it

        await stores.B.RecordLegalHoldAsync("dev-h", true, "litigation", "legal", Now.AddMinutes(1));
        await stores.A.RecordLegalHoldAsync("dev-h", false, "stale release", "legal", Now.AddSeconds(30));
        Assert.Equal("litigation", await stores.A.HoldReasonAsync("dev-h", CancellationToken.None));
        await using var connection = await a.OpenAsync();
        Assert.Equal(1L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM quarantines;"));
    }

    [Fact]
    public void Replicas_given_one_password_protected_pfx_sign_with_one_key_and_a_wrong_password_stops_them()
    {
        using (var ca = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=Decommission command signing", ca, HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(Now.AddDays(-1), Now.AddYears(5));
            File.WriteAllBytes(Path.Combine(_directory, "command-signing.pfx"), certificate.Export(X509ContentType.Pkcs12, "correct horse"));
        }

        using var replicaA = SigningKey("command-signing.pfx", "correct horse", createWhenAbsent: false);
        using var replicaB = SigningKey("command-signing.pfx", "correct horse", createWhenAbsent: false);
        Assert.Equal(replicaA.KeyId, replicaB.KeyId);
        // What one replica signs, a device provisioned with the (one) public key beside the PFX accepts.
        var command = replicaB.Sign(new EraseCommand { CommandId = Guid.NewGuid().ToString(), DeviceId = "dev-1", Nonce = ProtocolSigning.NewNonce() });
        using var devicesKey = ECDsa.Create();
        devicesKey.ImportFromPem(File.ReadAllText(Path.Combine(_directory, "command-signing.pub.pem")));
        Assert.True(ProtocolSigning.Verify(devicesKey, command.SignedBytes(), command.Signature));

        var wrong = Assert.Throws<InvalidOperationException>(() => SigningKey("command-signing.pfx", "wrong", createWhenAbsent: false));
        Assert.Contains("SigningKeyPassword", wrong.Message);
    }

    [Fact]
    public async Task A_gateway_on_a_shared_postgresql_database_refuses_to_start_without_its_configured_signing_key()
    {
        var keyPath = Path.Combine(_directory, "command-signing.key.pem");
        var database = await PostgresServer.NewDatabaseAsync();

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServiceUnderTest.StartAsync(new ServiceUnderTestOptions
        {
            AddService = builder => builder.AddDeviceGatewayService(),
            Settings = directory => new Dictionary<string, string?>
            {
                ["Storage:Postgres"] = database,
                ["DeviceGateway:DatabasePath"] = Path.Combine(directory, "device-gateway.db"),
                ["DeviceGateway:SigningKeyPath"] = keyPath,
            },
        }));

        Assert.Contains("DeviceGateway:SigningKeyPath", refused.Message);
        Assert.False(File.Exists(keyPath), "a replica made a signing key of its own");
    }

    [Fact]
    public void Where_replicas_are_possible_a_missing_signing_key_stops_the_start_and_none_is_made()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => SigningKey(createWhenAbsent: false));
        Assert.Contains("Storage:Postgres", refused.Message);
        Assert.Empty(Directory.GetFiles(_directory));

        // On one machine (SQLite) the key is made on first start and kept.
        string keyId;
        using (var made = SigningKey())
            keyId = made.KeyId;
        Assert.True(OwnerOnlyFile.IsOwnerOnly(Path.Combine(_directory, "command-signing.key.pem")));
        using var again = SigningKey(createWhenAbsent: false);
        Assert.Equal(keyId, again.KeyId);
    }
}
