using Decommission.Orchestrator;
using Decommission.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddOrchestratorService();
builder.AddMessageBus();

var app = builder.Build();
app.MapHealthChecks("/health");
app.Run();
