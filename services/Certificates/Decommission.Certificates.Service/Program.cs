using Decommission.Certificates;
using Decommission.Certificates.Apis;
using Decommission.ServiceDefaults;

// appsettings.json beside the binary, wherever the service is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
if (HealthProbe.IsRequested(args))
    return await HealthProbe.RunAsync(builder.Configuration);

builder.AddServiceDefaults();
builder.AddCertificatesService();
builder.AddMessageBus();

var app = builder.Build();
if (args is ["create-api-key", ..])
    return await ApiKeyCommand.RunAsync(app, args);
if (args is ["create-signing-pfx", ..])
    return await SigningPfxCommand.RunAsync(app, args);

app.MapDefaultEndpoints();
app.MapCertificatesApi();
app.Run();
return 0;
