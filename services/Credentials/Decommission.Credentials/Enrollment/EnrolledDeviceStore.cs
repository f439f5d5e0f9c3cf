using Decommission.Storage;
using Dapper;

namespace Decommission.Credentials.Enrollment;

/// <summary>
/// Enrolled devices and their operational credentials (tables devices and credentials): enrollment adds them, a credential
/// check reads the hashes, a quarantine destroys the hashes and moves the device to the quarantine segment.
/// </summary>
public sealed class EnrolledDeviceStore(CredentialsDatabase database)
{
    /// <summary>The serial of the device's identity certificate, read inside the caller's transaction (a revocation's); null if not enrolled.</summary>
    public static Task<string?> IdentitySerialAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string deviceId) =>
        connection.QuerySingleOrDefaultAsync<string?>("SELECT identity_serial FROM devices WHERE device_id = @DeviceId;", new { DeviceId = deviceId }, transaction);

    /// <summary>Which of the devices are already enrolled.</summary>
    public async Task<HashSet<string>> AlreadyEnrolledAsync(IEnumerable<string> deviceIds, CancellationToken cancellationToken)
    {
        var enrolled = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = await database.OpenAsync(cancellationToken);
        foreach (var deviceId in deviceIds)
            if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM devices WHERE device_id = @DeviceId;", new { DeviceId = deviceId }) > 0)
                enrolled.Add(deviceId);
        return enrolled;
    }

    /// <summary>
    /// Adds the devices with their credentials' hashes, all in one transaction; or none of them, returning the ids another
    /// enrollment (another replica's, at the same moment) committed first.
    /// </summary>
    public async Task<IReadOnlyList<string>> AddAsync(IReadOnlyList<NewEnrolledDevice> devices, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await ServiceDatabase.BeginWriteAsync(connection, cancellationToken);
        var taken = new List<string>();
        foreach (var device in devices)
        {
            // The primary key decides between two enrollments of one id: the later waits for the earlier's commit, then adds nothing.
            if (await connection.ExecuteAsync("""
                INSERT INTO devices (device_id, attestation_public_key, identity_serial, identity_certificate, network_segment,
                                     enrolled_segment, enrolled_by, enrolled_at)
                VALUES (@DeviceId, @Key, @Serial, @Certificate, @Segment, @Segment, @By, @Now)
                ON CONFLICT (device_id) DO NOTHING;
                """, new
            {
                device.DeviceId, Key = device.AttestationPublicKey, Serial = device.IdentitySerial, Certificate = device.IdentityCertificate,
                Segment = device.NetworkSegment, By = device.EnrolledBy, Now = now.ToString("O"),
            }, transaction) == 0)
            {
                taken.Add(device.DeviceId);
                continue;
            }

            foreach (var (kind, hash) in device.CredentialHashes)
            {
                await connection.ExecuteAsync("""
                    INSERT INTO credentials (credential_id, device_id, kind, hash, created_at)
                    VALUES (@Id, @DeviceId, @Kind, @Hash, @Now);
                    """, new { Id = $"{kind}:{device.DeviceId}:{Guid.NewGuid():N}", device.DeviceId, Kind = kind, Hash = hash, Now = now.ToString("O") },
                    transaction);
            }
        }
        if (taken.Count > 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return taken;
        }
        await transaction.CommitAsync(cancellationToken);
        return [];
    }

    /// <summary>The device's credentials: a revoked one has no hash.</summary>
    public async Task<IReadOnlyList<StoredCredential>> CredentialsOfAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QueryAsync<(string Kind, string? Hash, string? RevokedAt)>(
            "SELECT kind AS Kind, hash AS Hash, revoked_at AS RevokedAt FROM credentials WHERE device_id = @DeviceId;", new { DeviceId = deviceId }))
            .Select(c => new StoredCredential(c.Kind, c.Hash, c.RevokedAt)).ToList();
    }

    /// <summary>
    /// Revokes every operational credential of the device (destroying its hash) and moves it to <paramref name="segment"/>; a
    /// repeat changes nothing. Returns the device's credentials and its segment, or null when the device was never enrolled.
    /// </summary>
    public async Task<Quarantined?> QuarantineAsync(string deviceId, Guid retirementId, string segment, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var quarantined = await database.Writes.WriteAsync<Quarantined?>(async (connection, transaction) =>
        {
            // The device's row first: on PostgreSQL the update locks it, so a quarantine of the same device by another replica
            // waits for this one's commit and then finds everything done (the first retirement and time kept).
            if (await connection.QuerySingleOrDefaultAsync<string?>("""
                UPDATE devices SET network_segment = @Segment, quarantined_at = COALESCE(quarantined_at, @Now),
                                   quarantined_for = COALESCE(quarantined_for, @RetirementId)
                WHERE device_id = @DeviceId
                RETURNING device_id;
                """, new { Segment = segment, Now = now.ToString("O"), RetirementId = retirementId.ToString(), DeviceId = deviceId }, transaction) is null)
                return null;
            await connection.ExecuteAsync("""
                UPDATE credentials SET hash = NULL, revoked_at = @Now, revoked_for = @RetirementId
                WHERE device_id = @DeviceId AND revoked_at IS NULL;
                """, new { Now = now.ToString("O"), RetirementId = retirementId.ToString(), DeviceId = deviceId }, transaction);
            return await ReadQuarantinedAsync(connection, transaction, deviceId);
        });
        // The destroyed hashes' old copies: SQLite's WAL, PostgreSQL's dead row versions (CredentialsDatabase says what stays).
        if (quarantined is not null)
            await database.ScrubDestroyedHashesAsync(cancellationToken);
        return quarantined;
    }

    /// <summary>
    /// Claims the broker's part of the device's quarantine for this replica: <see cref="BrokerQuarantine.Claimed"/> (do it,
    /// then <see cref="MarkBrokerQuarantinedAsync"/>), <see cref="BrokerQuarantine.Done"/> (already enforced), or
    /// <see cref="BrokerQuarantine.UnderWay"/> (another claim younger than <paramref name="takeOverAfter"/>).
    /// </summary>
    public async Task<BrokerQuarantine> ClaimBrokerQuarantineAsync(string deviceId, DateTimeOffset now, TimeSpan takeOverAfter, CancellationToken cancellationToken) =>
        await database.Writes.WriteAsync(async (connection, transaction) =>
        {
            // A conditional update: on PostgreSQL a second replica's waits for the first's commit and then finds the claim.
            if (await connection.QuerySingleOrDefaultAsync<string?>("""
                UPDATE devices SET broker_quarantine_claimed_at = @Now
                WHERE device_id = @DeviceId AND broker_quarantined_at IS NULL
                  AND (broker_quarantine_claimed_at IS NULL OR broker_quarantine_claimed_at < @StaleBefore)
                RETURNING device_id;
                """, new { Now = now.ToString("O"), StaleBefore = (now - takeOverAfter).ToString("O"), DeviceId = deviceId }, transaction) is not null)
                return BrokerQuarantine.Claimed;
            return await connection.QuerySingleOrDefaultAsync<string?>("SELECT broker_quarantined_at FROM devices WHERE device_id = @DeviceId;",
                new { DeviceId = deviceId }, transaction) is null ? BrokerQuarantine.UnderWay : BrokerQuarantine.Done;
        });

    /// <summary>Gives up this replica's claim (its broker call failed): the next copy of the order claims it at once.</summary>
    public Task ReleaseBrokerQuarantineAsync(string deviceId, CancellationToken cancellationToken) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("""
                UPDATE devices SET broker_quarantine_claimed_at = NULL WHERE device_id = @DeviceId AND broker_quarantined_at IS NULL;
                """, new { DeviceId = deviceId }, transaction);
            return true;
        });

    /// <summary>Records that the broker enforces the device's quarantine: a repeated order leaves its connection alone.</summary>
    public Task MarkBrokerQuarantinedAsync(string deviceId, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync("""
                UPDATE devices SET broker_quarantined_at = COALESCE(broker_quarantined_at, @Now) WHERE device_id = @DeviceId;
                """, new { Now = now.ToString("O"), DeviceId = deviceId }, transaction);
            return true;
        });

    private static async Task<Quarantined> ReadQuarantinedAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string deviceId)
    {
        var revoked = (await connection.QueryAsync<(string Id, string Kind, string RevokedAt)>(
            "SELECT credential_id AS Id, kind AS Kind, revoked_at AS RevokedAt FROM credentials WHERE device_id = @DeviceId ORDER BY kind;",
            new { DeviceId = deviceId }, transaction)).Select(c => new RevokedCredentialRow(c.Id, c.Kind,
                DateTimeOffset.Parse(c.RevokedAt, System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var segment = await connection.QuerySingleAsync<string>("SELECT network_segment FROM devices WHERE device_id = @DeviceId;",
            new { DeviceId = deviceId }, transaction);
        return new Quarantined(revoked, segment);
    }
}

/// <summary>A device to enroll: its identity certificate over the attestation key, segment, and its credentials' hashes by kind.</summary>
public sealed record NewEnrolledDevice(string DeviceId, byte[] AttestationPublicKey, string IdentitySerial, byte[] IdentityCertificate, string NetworkSegment,
    string EnrolledBy, IReadOnlyList<(string Kind, string Hash)> CredentialHashes);

/// <summary>A credential as stored: its hash is gone once revoked.</summary>
public sealed record StoredCredential(string Kind, string? Hash, string? RevokedAt);

/// <summary>A quarantined device's credentials (all revoked) and its segment.</summary>
public sealed record Quarantined(IReadOnlyList<RevokedCredentialRow> Credentials, string Segment);

/// <summary>Where the broker's part of a device's quarantine stands for the replica that asks.</summary>
public enum BrokerQuarantine
{
    /// <summary>This replica does it now.</summary>
    Claimed,

    /// <summary>Another replica (or an earlier copy of the order) is doing it.</summary>
    UnderWay,

    /// <summary>The broker enforces it already.</summary>
    Done,
}

/// <summary>A revoked credential of a quarantined device.</summary>
public sealed record RevokedCredentialRow(string CredentialId, string Kind, DateTimeOffset RevokedAt);
