using Decommission.Credentials.Revocation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Decommission.Credentials.Apis;

public static class CredentialsApi
{
    /// <summary>GET /crl: the newest CRL, DER. Deliberately public: relying parties must be able to check revocation.</summary>
    public static IEndpointRouteBuilder MapCredentialsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/crl", GetCrl).AllowAnonymous().WithName("GetCrl");
        return app;
    }

    private static async Task<IResult> GetCrl(CrlPublisher crls, CancellationToken cancellationToken) =>
        await crls.LatestAsync(cancellationToken) is { } der
            ? Results.File(der, "application/pkix-crl", "fleet.crl")
            : Results.NotFound();
}
