using Decommission.Certificates.Apis;
using Decommission.Credentials.Apis;
using Decommission.ServiceDefaults;

namespace Decommission.Host;

/// <summary>Every service in one process with the auditor API and page, the public CRL, health and (with a scrape token) /metrics.</summary>
public static class Serve
{
    public static async Task<int> RunAsync(string[] args)
    {
        var data = args.SkipWhile(a => a != "--data").Skip(1).FirstOrDefault() ?? "decommission-data";
        var builder = AllInOne.CreateBuilder(args, data, new Dictionary<string, string?> { ["Urls"] = "http://127.0.0.1:5080" });
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapCredentialsApi();
        app.MapCertificatesApi();
        await app.RunAsync();
        return 0;
    }
}
