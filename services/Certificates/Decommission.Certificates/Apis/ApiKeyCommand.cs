using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Decommission.Certificates.Apis;

/// <summary><c>create-api-key --name NAME --role auditor|operator</c>: prints a new key once; only its hash is kept.</summary>
public static class ApiKeyCommand
{
    public static async Task<int> RunAsync(WebApplication app, string[] args)
    {
        string? Value(string flag) => args.SkipWhile(a => a != flag).Skip(1).FirstOrDefault();
        var name = Value("--name");
        var role = Value("--role");
        if (string.IsNullOrWhiteSpace(name) || role is null || !ApiRoles.IsKnown(role))
        {
            await Console.Error.WriteLineAsync($"usage: create-api-key --name NAME --role {ApiRoles.Auditor}|{ApiRoles.Operator}");
            return 2;
        }
        await app.Services.GetRequiredService<CertificatesDatabase>().MigrateAsync();
        var key = await app.Services.GetRequiredService<ApiKeyStore>().CreateAsync(name, role);
        Console.WriteLine(key);
        await Console.Error.WriteLineAsync($"API key for {name} ({role}) created; it is shown only this once. Send it as header {ApiKeyAuthenticationHandler.Header}.");
        return 0;
    }
}
