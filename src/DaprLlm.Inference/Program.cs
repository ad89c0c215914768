using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Generation;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddModelCatalog();

var app = builder.Build();
app.UseJsonErrors();
app.UseDaprAppToken("/dapr", "/v1");
app.MapDefaultEndpoints();
app.MapCatalogApi();
app.MapGenerationApi();
app.MapEmbeddingsApi();
app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
