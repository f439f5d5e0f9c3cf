using Decommission.Certificates.Issuing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Apis;

/// <summary>
/// <c>create-signing-pfx --out FILE</c>: a new disposal authority and signing certificate as a PFX protected by
/// Certificates:SigningPfxPassword, for every replica of a scaled-out deployment (Certificates:SigningPfxPath); the
/// authority's key beside it (FILE.ca-key.pem, owner-only) to be kept offline.
/// </summary>
public static class SigningPfxCommand
{
    public static async Task<int> RunAsync(WebApplication app, string[] args)
    {
        var output = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault();
        var options = app.Services.GetRequiredService<IOptions<CertificatesOptions>>().Value;
        if (string.IsNullOrWhiteSpace(output) || string.IsNullOrEmpty(options.SigningPfxPassword))
        {
            await Console.Error.WriteLineAsync("usage: create-signing-pfx --out FILE, with the PFX's password in Certificates__SigningPfxPassword");
            return 2;
        }
        var authorityKey = output + ".ca-key.pem";
        SigningIdentity.CreatePfx(output, authorityKey, options.SigningPfxPassword, options.Organisation);
        await Console.Error.WriteLineAsync($"Wrote {output} (give it to every replica as Certificates:SigningPfxPath) and the authority's key {authorityKey} (keep it offline).");
        return 0;
    }
}
