namespace DaprLlm.Gateway.Quotas;

/// <summary>Wiring of the quota actors (hosted by the gateway itself) and the local leases.</summary>
public static class QuotaExtensions
{
    public static WebApplicationBuilder AddQuotas(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<QuotaOptions>().BindConfiguration(QuotaOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var sidecar = builder.Configuration["DAPR_HTTP_ENDPOINT"];
        builder.Services.AddActors(o =>
        {
            o.Actors.RegisterActor<QuotaActor>();
            if (!string.IsNullOrEmpty(sidecar))
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
