using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Apis;

/// <summary>What an API key may do: auditors read and verify; operators read and run campaigns; both record and witness destructions.</summary>
public static class ApiRoles
{
    public const string Auditor = "auditor";
    public const string Operator = "operator";

    public const string ReadPolicy = "certificates:read";
    public const string AuditPolicy = "certificates:audit";
    /// <summary>Record or witness a physical destruction: operators and auditors, each as themselves.</summary>
    public const string DestructionPolicy = "destructions:record";
    /// <summary>Start, pause, resume, abort, approve and refuse campaigns: operators only (auditors read them).</summary>
    public const string OperatePolicy = "campaigns:operate";

    public static bool IsKnown(string role) => role is Auditor or Operator;
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
