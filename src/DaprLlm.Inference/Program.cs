using DaprLlm.Inference.Generation;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddGeneration();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapGenerationApi();
app.Run();
