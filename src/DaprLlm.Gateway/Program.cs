using DaprLlm.Gateway.Admin;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.Events;
using DaprLlm.Gateway.OpenAi;
using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Tenants;
using DaprLlm.Gateway.Versioning;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddDaprClient();
builder.Services.AddSingleton(TimeProvider.System);
builder.AddTenants();
builder.AddQuotas();
builder.AddOpenAiApi();
builder.AddEvents();
builder.AddApiDocs();

var app = builder.Build();
app.UseOpenAiErrors();
app.UseDaprAppToken("/dapr", "/actors", "/events");
app.MapDefaultEndpoints();
app.MapQuotaActors();
app.MapAdminApi();
app.MapOpenAiApi();
app.MapEvents();
app.MapApiDocs();
app.Run();

/// <summary>Entry point; public so tests can host the gateway (WebApplicationFactory).</summary>
public partial class Program;
