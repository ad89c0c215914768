using Scalar.AspNetCore;

namespace DaprLlm.Gateway.Versioning;

/// <summary>
/// OpenAPI documents per served version (/openapi/v1.json, /openapi/v2.json, and any version configuration adds) and an
/// interactive page at /docs, served locally. A retired version has no document.
/// </summary>
public static class ApiDocs
{
    public static WebApplicationBuilder AddApiDocs(this WebApplicationBuilder builder)
    {
        foreach (var version in Served(builder.Configuration))
        {
            builder.Services.AddOpenApi(version);
        }

        return builder;
    }

    public static WebApplication MapApiDocs(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference("/docs", o =>
        {
            o.WithTitle("DaprLlm API");
            foreach (var version in Served(app.Configuration))
            {
                o.AddDocument(version);
            }
        });
        return app;
    }

    // Read as the options are bound (the defaults plus what configuration adds); the options validate the names.
    private static IEnumerable<string> Served(IConfiguration configuration)
    {
        var versions = new ApiVersionOptions();
        configuration.GetSection(ApiVersionOptions.Section).Bind(versions);
        return versions.Versions.Where(v => !v.Value.Retired).Select(v => v.Key).Order(StringComparer.Ordinal);
    }
}
