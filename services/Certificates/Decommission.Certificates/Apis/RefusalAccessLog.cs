using Decommission.DeviceProtocol;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Decommission.ServiceDefaults;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace Decommission.Certificates.Apis;

/// <summary>
/// Writes every refused request (401: no or unknown key; 403: a key whose role may not) to the access log: who (the key's
/// name, or for an unknown key a SHA-256 prefix of it, never the key), what (method and path), when; then refuses as usual.
/// </summary>
internal sealed class RefusalAccessLog(AccessLog log) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _refuse = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged || authorizeResult.Forbidden)
        {
            var action = UntrustedText.Safe($"{context.Request.Method} {context.Request.Path}", 200);
            if (authorizeResult.Forbidden && context.User.Identity?.IsAuthenticated == true)
                await log.WriteAsync(context.User, action, null, "403 forbidden for this role", context.RequestAborted);
            else
                await log.WriteAsync(Anonymous(context.Request), action, null, "401 no valid API key", context.RequestAborted);
        }
        await _refuse.HandleAsync(next, context, policy, authorizeResult);
    }

    private static ClaimsPrincipal Anonymous(HttpRequest request)
    {
        var presented = request.Headers[ApiKeyAuthenticationHandler.Header].ToString();
        var who = string.IsNullOrEmpty(presented)
            ? "(no API key)"
            : $"(unknown API key sha256:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(presented)))[..12]})";
        return new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, who)]));
    }
}
