using Scalar.AspNetCore;

namespace DaprLlm.Gateway.Versioning;

/// <summary>OpenAPI documents per version (/openapi/v1.json, /openapi/v2.json) and an interactive page at /docs, served locally.</summary>
public static class ApiDocs
{
    public static WebApplicationBuilder AddApiDocs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi("v1");
        builder.Services.AddOpenApi("v2");
        return builder;
    }

    public static WebApplication MapApiDocs(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference("/docs", o => o.WithTitle("DaprLlm API").AddDocument("v1").AddDocument("v2"));
        return app;
    }
}
