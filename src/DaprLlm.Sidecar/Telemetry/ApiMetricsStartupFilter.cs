using System.Diagnostics;

namespace DaprLlm.Sidecar.Telemetry;

/// <summary>Counts and times every API request per route (daprd's dapr_http_server_* metrics).</summary>
internal sealed class ApiMetricsStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await nextMiddleware(context);
            }
            finally
            {
                var path = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                SidecarTelemetry.RecordApiRequest(context.Request.Method, path, context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
            }
        });
        next(app);
    };
}
