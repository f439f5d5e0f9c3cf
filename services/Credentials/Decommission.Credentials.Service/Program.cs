using Decommission.Credentials;
using Decommission.Credentials.Apis;
using Decommission.ServiceDefaults;

// appsettings.json beside the binary, wherever the service is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddServiceDefaults();
builder.AddCredentialsService();
builder.AddMessageBus();

var app = builder.Build();
app.MapHealthChecks("/health");
app.MapCredentialsApi();
app.Run();
