using Decommission.Credentials;
using Decommission.Credentials.Apis;
using Decommission.ServiceDefaults;

// appsettings.json beside the binary, wherever the service is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
if (HealthProbe.IsRequested(args))
    return await HealthProbe.RunAsync(builder.Configuration);

builder.AddServiceDefaults();
builder.AddCredentialsService();
builder.AddMessageBus();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapCredentialsApi();
app.Run();
return 0;
