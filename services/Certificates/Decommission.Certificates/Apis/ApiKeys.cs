using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Dapper;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Apis;

/// <summary>What an API key may do: auditors read and verify; operators read; both record and witness destructions.</summary>
public static class ApiRoles
{
    public const string Auditor = "auditor";
    public const string Operator = "operator";

    public const string ReadPolicy = "certificates:read";
    public const string AuditPolicy = "certificates:audit";
    /// <summary>Record or witness a physical destruction: operators and auditors, each as themselves.</summary>
    public const string DestructionPolicy = "destructions:record";

    public static bool IsKnown(string role) => role is Auditor or Operator;
}

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

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}

/// <summary>Authenticates requests by the X-Api-Key header.</summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiKeyStore keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "X-Api-Key";
    /// <summary>The key's id (the public part before the secret): tells two keys of the same name apart.</summary>
    public const string KeyIdClaim = "api_key_id";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Header, out var values) || values.Count != 1 || string.IsNullOrEmpty(values[0]))
            return AuthenticateResult.NoResult();
        if (await keys.AuthenticateAsync(values[0]!, Context.RequestAborted) is not { } key)
            return AuthenticateResult.Fail("unknown or revoked API key");
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, key.Name), new Claim(ClaimTypes.Role, key.Role), new Claim(KeyIdClaim, key.KeyId)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
