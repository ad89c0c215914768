using DaprLlm.Safety.Moderation;
using DaprLlm.Safety.Policies;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddModeration();
builder.AddPolicies();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapModerationApi();
app.MapModerationsApi();
app.MapPolicyAdminApi();
app.Run();
