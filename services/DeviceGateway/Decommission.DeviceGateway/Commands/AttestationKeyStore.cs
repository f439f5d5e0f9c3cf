using Dapper;

namespace Decommission.DeviceGateway.Commands;

/// <summary>
/// Each device's attestation key and the fleet-CA identity certificate over it (table attestation_keys). A device keeps the
/// key it was first registered with; registering the same key again only takes the newer certificate.
/// </summary>
public sealed class AttestationKeyStore(GatewayDatabase database)
{
    /// <summary>Registers the keys in one transaction; a device already holding another key is left as it is and returned as a conflict.</summary>
    public Task<(List<string> Registered, List<KeyConflict> Conflicts)> RegisterAsync(IReadOnlyList<AttestationKey> keys, string registeredBy,
        DateTimeOffset now) =>
        database.Writes.WriteAsync(async (connection, transaction) =>
        {
            var registered = new List<string>();
            var conflicts = new List<KeyConflict>();
            foreach (var key in keys)
            {
                // The same key again (re-enrollment): keep the key, take the newer certificate. Another key: nothing changes. One
                // statement decides, so replicas registering two keys for one device at once keep the first and refuse the other.
                var kept = await connection.QuerySingleOrDefaultAsync<string>("""
                    INSERT INTO attestation_keys (device_id, public_key, key_id, registered_by, registered_at, identity_certificate)
                    VALUES (@DeviceId, @PublicKey, @KeyId, @RegisteredBy, @Now, @Certificate)
                    ON CONFLICT (device_id) DO UPDATE SET identity_certificate = excluded.identity_certificate
                    WHERE attestation_keys.key_id = excluded.key_id
                    RETURNING key_id;
                    """, new { key.DeviceId, key.PublicKey, key.KeyId, RegisteredBy = registeredBy, Now = now.ToString("O"), Certificate = key.IdentityCertificate },
                    transaction);
                if (kept is null)
                {
                    var stored = await connection.QuerySingleAsync<string>(
                        "SELECT key_id FROM attestation_keys WHERE device_id = @DeviceId;", new { key.DeviceId }, transaction);
                    conflicts.Add(new KeyConflict(key.DeviceId, stored, key.KeyId));
                    continue;
                }
                registered.Add(key.DeviceId);
            }
            return (registered, conflicts);
        });

    /// <summary>The device's registered key and identity certificate, or null.</summary>
    public async Task<RegisteredKey?> FindAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<RegisteredKey>(
            "SELECT public_key AS PublicKey, identity_certificate AS IdentityCertificate FROM attestation_keys WHERE device_id = @DeviceId;",
            new { DeviceId = deviceId });
    }

    /// <summary>How many devices have a registered key.</summary>
    public async Task<int> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM attestation_keys;");
    }
}

/// <summary>A key to register: the device, its SubjectPublicKeyInfo, its key id, and the identity certificate over it (DER).</summary>
public sealed record AttestationKey(string DeviceId, byte[] PublicKey, string KeyId, byte[] IdentityCertificate);

/// <summary>A device that already holds another key.</summary>
public sealed record KeyConflict(string DeviceId, string StoredKeyId, string OfferedKeyId);

/// <summary>A registered key as receipts are verified against it.</summary>
public sealed record RegisteredKey(byte[] PublicKey, byte[]? IdentityCertificate);
