using System.Diagnostics;
using DaprLlm.Sidecar.Invocation;

namespace DaprLlm.Sidecar.Telemetry;

/// <summary>Counts and times every API request per route (daprd's dapr_http_server_* metrics).</summary>
internal sealed class ApiMetricsStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
            IsSidecarHop(context.Request.Path.Value) ? nextMiddleware(context) : MeasureAsync(context, nextMiddleware));
        next(app);
    };

    // The sidecar-to-sidecar hop is not a Dapr API call: daprd makes it over its internal gRPC port, outside the HTTP
    // server metrics (here it had no route and was counted as path "unmatched" on every invocation's target).
    private static bool IsSidecarHop(string? path) => path is not null && path.StartsWith(ServiceInvoker.InternalPrefix, StringComparison.Ordinal);

    private static async Task MeasureAsync(HttpContext context, RequestDelegate nextMiddleware)
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
    }
}
