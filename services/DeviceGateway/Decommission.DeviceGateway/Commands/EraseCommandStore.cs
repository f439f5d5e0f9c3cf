using Dapper;
using Decommission.Contracts;
using Decommission.DeviceGateway.Receipts;
using Decommission.DeviceProtocol;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// The erase commands the gateway issued and the receipts that answered them (tables erase_commands and receipts): a command
/// is signed once and re-sent as stored, found by its id or as a device's newest pending one, and claimed by one receipt only.
/// </summary>
public sealed class EraseCommandStore(GatewayDatabase database)
{
    private const string CommandColumns = """
        command_id AS CommandId, retirement_id AS RetirementId, device_id AS DeviceId, nonce AS Nonce,
               issued_at_ms AS IssuedAtMs, expires_at_ms AS ExpiresAtMs, status AS Status, receipt_sha256 AS ReceiptSha256, body AS Body
        """;

    /// <summary>The signed command as stored, or null when it was never issued.</summary>
    public async Task<string?> FindBodyAsync(Guid commandId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string>("SELECT body FROM erase_commands WHERE command_id = @Id;", new { Id = commandId.ToString() });
    }

    /// <summary>
    /// Records an attempt of the command and returns the signed command as stored. <paramref name="signed"/> (the first attempt's
    /// signature) is kept only if no command with its id exists yet: every later attempt re-sends the first one.
    /// </summary>
    public Task<string> RecordAttemptAsync(Guid commandId, Guid retirementId, EraseCommand? signed, DateTimeOffset expiresAt, int attempt, DateTimeOffset now) =>
        database.Writes.WriteAsync(async (writer, transaction) =>
        {
            if (signed is not null)
            {
                // A concurrent redelivery that stored its command first, on this replica or another, keeps it (the primary key
                // decides; on PostgreSQL this insert waits for the other's commit): we then send that one.
                await writer.ExecuteAsync("""
                    INSERT INTO erase_commands
                        (command_id, retirement_id, device_id, body, nonce, issued_at_ms, expires_at_ms, attempts, status, updated_at)
                    VALUES (@CommandId, @RetirementId, @DeviceId, @Body, @Nonce, @IssuedAtMs, @ExpiresAtMs, @Attempt, 'Pending', @Now)
                    ON CONFLICT (command_id) DO NOTHING;
                    """, new
                {
                    signed.CommandId, RetirementId = retirementId.ToString(), signed.DeviceId, Body = Wire.Serialize(signed), signed.Nonce,
                    IssuedAtMs = now.ToUnixTimeMilliseconds(), ExpiresAtMs = expiresAt.ToUnixTimeMilliseconds(), Attempt = attempt, Now = now.ToString("O"),
                }, transaction);
            }
            await writer.ExecuteAsync(
                "UPDATE erase_commands SET attempts = CASE WHEN attempts < @Attempt THEN @Attempt ELSE attempts END, updated_at = @Now WHERE command_id = @Id;",
                new { Attempt = attempt, Now = now.ToString("O"), Id = commandId.ToString() }, transaction);
            // The winner's command: a statement of its own sees what the other replica committed (READ COMMITTED).
            return await writer.QuerySingleAsync<string>("SELECT body FROM erase_commands WHERE command_id = @Id;",
                new { Id = commandId.ToString() }, transaction);
        });

    /// <summary>The command with this id, or null.</summary>
    public async Task<IssuedCommand?> FindAsync(string commandId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return ToCommand(await connection.QuerySingleOrDefaultAsync<CommandRow>(
            $"SELECT {CommandColumns} FROM erase_commands WHERE command_id = @Key;", new { Key = commandId }));
    }

    /// <summary>The device's newest command no receipt has verified yet, or null.</summary>
    public async Task<IssuedCommand?> FindPendingAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return ToCommand(await connection.QuerySingleOrDefaultAsync<CommandRow>(
            $"SELECT {CommandColumns} FROM erase_commands WHERE device_id = @Key AND status = 'Pending' ORDER BY issued_at_ms DESC LIMIT 1;",
            new { Key = deviceId }));
    }

    /// <summary>
    /// Keeps a receipt with its verdict; a verified one claims its command in the same transaction. A receipt that finds the
    /// command already claimed by another is kept, and returned, as a replay; one that finds it claimed by its own bytes (a copy
    /// checked at the same time) as a duplicate.
    /// </summary>
    public Task<ReceiptVerdict> RecordReceiptAsync(ReceivedReceipt receipt, ReceiptVerdict verdict) =>
        database.Writes.WriteAsync(async (writer, transaction) =>
        {
            var final = verdict;
            if (final.IsVerified)
            {
                // A verified refusal ends the command as a verified receipt does: no other answer counts after it. The claim is
                // conditional: of replicas checking answers to one command at once, the second waits for the first's commit
                // (PostgreSQL's row lock, SQLite's write lock), finds the command no longer Pending and claims nothing.
                var claimed = await writer.ExecuteAsync(
                    "UPDATE erase_commands SET status = @Status, receipt_sha256 = @Sha256, updated_at = @Now WHERE command_id = @Id AND status = 'Pending';",
                    new { Status = receipt.MessageType == EraseRefusal.Type ? "Refused" : "Verified", receipt.Sha256, Now = receipt.ReceivedAt.ToString("O"), Id = receipt.CommandId },
                    transaction);
                if (claimed == 0)
                {
                    // Two copies of one answer checked at once both pass the checks; the one that claims second is the same
                    // answer delivered again (a Duplicate, as if it had been checked after), not a replay.
                    var claimedBy = await writer.QuerySingleOrDefaultAsync<string?>(
                        "SELECT receipt_sha256 FROM erase_commands WHERE command_id = @Id;", new { Id = receipt.CommandId }, transaction);
                    final = claimedBy == receipt.Sha256
                        ? new ReceiptVerdict(ReceiptVerdict.Duplicate, verdict.Reason, "this answer already ended its command's erase")
                        : ReceiptVerdict.Reject(ReceiptRejectionReasons.Replay, $"command {receipt.CommandId} was already answered by another receipt or refusal");
                }
            }
            await writer.ExecuteAsync("""
                INSERT INTO receipts (sha256, command_id, device_id, retirement_id, verdict, reason, detail, body, received_at, message_type)
                VALUES (@Sha256, @CommandId, @DeviceId, @RetirementId, @Verdict, @Reason, @Detail, @Body, @Now, @MessageType);
                """, new
            {
                receipt.Sha256, receipt.CommandId, receipt.DeviceId, RetirementId = receipt.RetirementId?.ToString(),
                final.Verdict, final.Reason, final.Detail, receipt.Body, Now = receipt.ReceivedAt.ToString("O"), receipt.MessageType,
            }, transaction);
            return final;
        });

    /// <summary>When the gateway first received this receipt with the verdict Verified (its own clock), or null.</summary>
    public async Task<DateTimeOffset?> FindVerifiedReceivedAtAsync(string sha256, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var receivedAt = await connection.QuerySingleOrDefaultAsync<string>(
            "SELECT received_at FROM receipts WHERE sha256 = @Sha256 AND verdict = 'Verified' ORDER BY id LIMIT 1;", new { Sha256 = sha256 });
        return receivedAt is null ? null : DateTimeOffset.Parse(receivedAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind);
    }

    private static IssuedCommand? ToCommand(CommandRow? row) =>
        row is null ? null : new IssuedCommand(row.CommandId, Guid.Parse(row.RetirementId), row.DeviceId, row.Nonce,
            DateTimeOffset.FromUnixTimeMilliseconds(row.IssuedAtMs), DateTimeOffset.FromUnixTimeMilliseconds(row.ExpiresAtMs),
            row.Status == "Verified", row.ReceiptSha256) { Body = row.Body, Refused = row.Status == "Refused" };

    private sealed record CommandRow(string CommandId, string RetirementId, string DeviceId, string Nonce, long IssuedAtMs, long ExpiresAtMs,
        string Status, string? ReceiptSha256, string Body);
}

/// <summary>A receipt (or refusal) as received and kept: its hash, what it says it answers (when readable), the retirement it concerns, the bytes kept.</summary>
public sealed record ReceivedReceipt(string Sha256, string? CommandId, string? DeviceId, Guid? RetirementId, byte[] Body, DateTimeOffset ReceivedAt)
{
    /// <summary>The message's type: <see cref="WipeReceipt.Type"/> unless it is an <see cref="EraseRefusal"/>.</summary>
    public string MessageType { get; init; } = WipeReceipt.Type;
}
