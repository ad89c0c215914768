using DaprLlm.Gateway.Chat;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddDaprClient();
builder.AddChatCompletions();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapChatCompletionsApi();
app.Run();
