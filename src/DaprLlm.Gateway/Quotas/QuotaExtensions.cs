using DaprLlm.Gateway.Configuration;

namespace DaprLlm.Gateway.Quotas;

/// <summary>Wiring of the quota actors (hosted by the gateway itself) and the local leases.</summary>
public static class QuotaExtensions
{
    public static WebApplicationBuilder AddQuotas(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<QuotaOptions>().BindSection(QuotaOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var configuration = builder.Configuration;
        builder.Services.AddActors(o =>
        {
            o.Actors.RegisterActor<QuotaActor>();

            // Read when the options are built, so hosts that add configuration late (tests) are seen too.
            if (configuration["DAPR_HTTP_ENDPOINT"] is { Length: > 0 } sidecar)
            {
                o.HttpEndpoint = sidecar;
            }
        });
        builder.Services.AddSingleton<QuotaService>();
        builder.Services.AddHostedService<QuotaFlusher>();
        return builder;
    }

    public static WebApplication MapQuotaActors(this WebApplication app)
    {
        app.MapActorsHandlers();
        return app;
    }
}
