using Microsoft.AspNetCore.Http.HttpResults;

namespace DaprLlm.Sidecar.Hosting;

/// <summary>daprd's POST /v1.0/shutdown: answers 204, then shuts the sidecar down gracefully.</summary>
public static class ShutdownApi
{
    public static WebApplication MapShutdownApi(this WebApplication app)
    {
        app.MapPost("/v1.0/shutdown", Shutdown);
        app.MapGrpcService<ShutdownGrpcService>();
        return app;
    }

    /// <summary>Stops the host once the answer has gone out (daprd answers first and shuts down in the background).</summary>
    public static void StopAfterResponse(HttpContext context, IHostApplicationLifetime lifetime, ILogger logger)
    {
        logger.LogInformation("Shutdown requested via API");
        context.Response.OnCompleted(() =>
        {
            lifetime.StopApplication();
            return Task.CompletedTask;
        });
    }

    private static NoContent Shutdown(HttpContext context, IHostApplicationLifetime lifetime, ILoggerFactory loggers)
    {
        StopAfterResponse(context, lifetime, loggers.CreateLogger("dapr.runtime"));
        return TypedResults.NoContent();
    }
}
