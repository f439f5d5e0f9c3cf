using System.Security.Cryptography;
using System.Text;
using Dapper;

namespace Decommission.Certificates.Apis;

/// <summary>API keys "dk_&lt;id&gt;.&lt;secret&gt;": the secret is 256 random bits, and only its SHA-256 is stored.</summary>
public sealed class ApiKeyStore(CertificatesDatabase database, TimeProvider clock)
{
    public async Task<string> CreateAsync(string name, string role, CancellationToken cancellationToken = default)
    {
        if (!ApiRoles.IsKnown(role))
            throw new ArgumentException($"Role must be {ApiRoles.Auditor} or {ApiRoles.Operator}.", nameof(role));
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("""
            INSERT INTO api_keys (key_id, name, role, secret_sha256, created_at) VALUES (@KeyId, @Name, @Role, @Hash, @Now);
            """, new { KeyId = keyId, Name = name, Role = role, Hash = Hash(secret), Now = clock.GetUtcNow().ToString("O") });
        return $"dk_{keyId}.{secret}";
    }

    public async Task<(string KeyId, string Name, string Role)?> AuthenticateAsync(string presented, CancellationToken cancellationToken = default)
    {
        var dot = presented.IndexOf('.', StringComparison.Ordinal);
        if (!presented.StartsWith("dk_", StringComparison.Ordinal) || dot < 4)
            return null;
        await using var connection = await database.OpenAsync(cancellationToken);
        var key = await connection.QuerySingleOrDefaultAsync<(string Name, string Role, string Hash)?>(
            "SELECT name AS Name, role AS Role, secret_sha256 AS Hash FROM api_keys WHERE key_id = @KeyId AND revoked_at IS NULL;",
            new { KeyId = presented[3..dot] });
        if (key is not { } found)
            return null;
        var matches = CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(presented[(dot + 1)..])), Encoding.ASCII.GetBytes(found.Hash));
        return matches ? (presented[3..dot], found.Name, found.Role) : null;
    }

    /// <summary>How many keys are in force (not revoked).</summary>
    public async Task<int> CountActiveAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL;");
    }

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}
