using DaprLlm.Safety.Moderation;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddModeration();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapModerationApi();
app.Run();
