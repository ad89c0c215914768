using DaprLlm.Audit.Admin;
using DaprLlm.Audit.Alerts;
using DaprLlm.Audit.Ingestion;
using DaprLlm.Audit.Trail;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddDaprClient();
builder.AddAuditTrail();
builder.Services.AddBadRequestErrors();

var app = builder.Build();
app.UseBadRequestErrors();
app.UseDaprAppToken("/dapr", "/events");
// No UseCloudEvents: ingestion reads the raw envelope to keep each event's id, type and source.
app.MapSubscribeHandler();
app.MapDefaultEndpoints();
app.MapIngestionApi();
app.MapRequestsApi();
app.MapAdminApi();
app.MapAlertsApi();
app.Run();

/// <summary>Entry point, visible to tests.</summary>
public partial class Program;
