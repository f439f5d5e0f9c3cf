using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Decommission.Certificates.Apis;

/// <summary>
/// Headers on every response, set first in the pipeline so refusals (401, 403, 413) carry them too. The auditor page loads
/// its script and style from this origin only (<see cref="AuditorPage"/>): no inline script can run, no other site may frame it.
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    internal sealed class StartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                // On starting: an exception handler clears the headers set before it.
                context.Response.OnStarting(() =>
                {
                    var headers = context.Response.Headers;
                    headers.ContentSecurityPolicy = ContentSecurityPolicy;
                    headers.XContentTypeOptions = "nosniff";
                    headers.XFrameOptions = "DENY";
                    headers["Referrer-Policy"] = "no-referrer";
                    return Task.CompletedTask;
                });
                return following(context);
            });
            next(app);
        };
    }
}
