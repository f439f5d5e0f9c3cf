using Dapper;
using Decommission.Contracts;
using Decommission.DeviceProtocol;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.DeviceGateway.Receipts;

/// <summary>
/// Verifies each receipt a device sends, keeps it with its verdict, and tells the saga: ErasureVerified or
/// ErasureRejected with the reason. A receipt redelivered after it verified is announced again (the saga ignores repeats).
/// </summary>
public sealed class ReceiptProcessor(GatewayDatabase database, IBus bus, IOptions<DeviceGatewayOptions> options, TimeProvider clock,
    ILogger<ReceiptProcessor> logger)
{
    private readonly ReceiptVerifier _verifier = new(options.Value.AllowedClockSkew);

    /// <summary>Verdicts a device reached about its own answer to our command: they end the erase. Any other rejection
    /// (forged, replayed, malformed, for another command) is not the device speaking: it is kept and the saga keeps waiting.</summary>
    private static readonly HashSet<string> Conclusive =
        [ReceiptRejectionReasons.Expired, ReceiptRejectionReasons.WeakMethod, ReceiptRejectionReasons.DeviceReportedFailure];

    public async Task<ReceiptVerdict> ProcessAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var cap = options.Value.MaxReceiptBytes;
        var tooLarge = body.Length > cap;
        var (receipt, sha256, problem) = tooLarge
            ? (null, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body.Span)), $"{body.Length} bytes, more than the {cap} a receipt may have")
            : ReceiptVerifier.Parse(body.Span);
        // Nothing beyond the cap is kept.
        var kept = tooLarge ? body[..cap] : body;
        await using var connection = await database.OpenAsync(cancellationToken);

        var command = Guid.TryParse(receipt?.CommandId, out _) ? await CommandAsync(connection, "command_id = @Key", receipt!.CommandId) : null;
        ReceiptVerdict verdict;
        IssuedCommand? pending = null;
        byte[]? identityCertificate = null;
        if (problem is not null)
        {
            verdict = ReceiptVerdict.Reject(ReceiptRejectionReasons.Malformed, problem);
        }
        else
        {
            var key = await connection.QuerySingleOrDefaultAsync<KeyRow>(
                "SELECT public_key AS PublicKey, identity_certificate AS IdentityCertificate FROM attestation_keys WHERE device_id = @DeviceId;",
                new { receipt!.DeviceId });
            identityCertificate = key?.IdentityCertificate;
            pending = await CommandAsync(connection, "device_id = @Key AND status = 'Pending' ORDER BY issued_at_ms DESC LIMIT 1", receipt.DeviceId);
            verdict = _verifier.Verify(receipt, sha256, new ReceiptFacts(key?.PublicKey, command, pending), now);
        }

        var about = command ?? pending;
        verdict = await database.Writes.WriteAsync(async (writer, transaction) =>
        {
            var final = verdict;
            if (final.IsVerified)
            {
                var claimed = await writer.ExecuteAsync(
                    "UPDATE erase_commands SET status = 'Verified', receipt_sha256 = @Sha256, updated_at = @Now WHERE command_id = @Id AND status = 'Pending';",
                    new { Sha256 = sha256, Now = now.ToString("O"), Id = command!.CommandId }, transaction);
                if (claimed == 0)
                    final = ReceiptVerdict.Reject(ReceiptRejectionReasons.Replay, $"command {command.CommandId} was already answered by another receipt");
            }
            await writer.ExecuteAsync("""
                INSERT INTO receipts (sha256, command_id, device_id, retirement_id, verdict, reason, detail, body, received_at)
                VALUES (@Sha256, @CommandId, @DeviceId, @RetirementId, @Verdict, @Reason, @Detail, @Body, @Now);
                """, new
            {
                Sha256 = sha256, receipt?.CommandId, receipt?.DeviceId, RetirementId = about?.RetirementId.ToString(),
                final.Verdict, final.Reason, final.Detail, Body = kept.ToArray(), Now = now.ToString("O"),
            }, transaction);
            return final;
        });

        if (verdict.Verdict is ReceiptVerdict.Verified or ReceiptVerdict.Duplicate)
        {
            await bus.Publish(new ErasureVerified
            {
                RetirementId = command!.RetirementId,
                DeviceId = receipt!.DeviceId,
                CommandId = Guid.Parse(command.CommandId),
                Nonce = command.Nonce,
                VerifiedAt = now,
                Evidence = new ErasureEvidence
                {
                    Method = receipt.Method,
                    DestroyedKeyIds = receipt.DestroyedKeyIds,
                    AreasCovered = receipt.AreasCovered,
                    AreasNotCovered = receipt.AreasNotCovered,
                    SelfCheckPassed = receipt.SelfCheckPassed,
                    CompletedAt = ProtocolSigning.TryParseTimestamp(receipt.CompletedAt, out var completedAt) ? completedAt : now,
                    ReceiptSha256 = sha256,
                    Receipt = Convert.ToBase64String(body.Span),
                    Command = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(command.Body)),
                    IdentityCertificate = identityCertificate is null ? "" : Convert.ToBase64String(identityCertificate),
                },
            }, cancellationToken);
            logger.LogInformation("Receipt {Sha256} verified command {CommandId} of {DeviceId}", sha256, command.CommandId, UntrustedText.Safe(receipt.DeviceId));
            return verdict;
        }

        logger.LogWarning("Receipt {Sha256} from {DeviceId} rejected: {Reason}: {Detail}", sha256, UntrustedText.Safe(receipt?.DeviceId ?? "(unreadable)"),
            verdict.Reason, UntrustedText.Safe(verdict.Detail));
        if (about is not null)
        {
            await bus.Publish(new ErasureRejected
            {
                RetirementId = about.RetirementId,
                DeviceId = about.DeviceId,
                CommandId = Guid.Parse(about.CommandId),
                Nonce = about.Nonce,
                Reason = verdict.Reason,
                Detail = UntrustedText.Safe(verdict.Detail),
                // Conclusive only when the device itself answered this very command (signature and command checked before these reasons).
                Conclusive = Conclusive.Contains(verdict.Reason) && command is not null && command.CommandId == about.CommandId,
                RejectedAt = now,
            }, cancellationToken);
        }
        return verdict;
    }

    private static async Task<IssuedCommand?> CommandAsync(System.Data.Common.DbConnection connection, string where, string key)
    {
        var row = await connection.QuerySingleOrDefaultAsync<CommandRow>($"""
            SELECT command_id AS CommandId, retirement_id AS RetirementId, device_id AS DeviceId, nonce AS Nonce,
                   issued_at_ms AS IssuedAtMs, expires_at_ms AS ExpiresAtMs, status AS Status, receipt_sha256 AS ReceiptSha256, body AS Body
            FROM erase_commands WHERE {where};
            """, new { Key = key });
        return row is null ? null : new IssuedCommand(row.CommandId, Guid.Parse(row.RetirementId), row.DeviceId, row.Nonce,
            DateTimeOffset.FromUnixTimeMilliseconds(row.IssuedAtMs), DateTimeOffset.FromUnixTimeMilliseconds(row.ExpiresAtMs),
            row.Status == "Verified", row.ReceiptSha256) { Body = row.Body };
    }

    private sealed record CommandRow(string CommandId, string RetirementId, string DeviceId, string Nonce, long IssuedAtMs, long ExpiresAtMs,
        string Status, string? ReceiptSha256, string Body);

    private sealed record KeyRow(byte[] PublicKey, byte[]? IdentityCertificate);
}
