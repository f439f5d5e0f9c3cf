using Decommission.Inventory;
using Decommission.ServiceDefaults;

// appsettings.json beside the binary, wherever the service is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
if (HealthProbe.IsRequested(args))
    return await HealthProbe.RunAsync(builder.Configuration);

builder.AddServiceDefaults();
builder.AddInventoryService();
builder.AddMessageBus();

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
return 0;
