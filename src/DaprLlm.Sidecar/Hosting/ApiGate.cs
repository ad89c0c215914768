using DaprLlm.Sidecar.Http;

namespace DaprLlm.Sidecar.Hosting;

/// <summary>
/// What every Dapr API call passes before its handler, as in daprd: the DAPR_API_TOKEN check (health probes are
/// public) and, with --enable-api-logging, one log line per call. Shared by the pipeline and the invocation fast path.
/// </summary>
public sealed class ApiGate(SidecarOptions options, ILoggerFactory loggers)
{
    private readonly ILogger _apiLog = loggers.CreateLogger("dapr.runtime.http-api");

    /// <summary>Null when the call may go on (it has been logged); otherwise the task writing the refusal.</summary>
    public Task? Refuse(HttpContext context)
    {
        if (options.ApiToken is { } token && !IsPublicHealthPath(context.Request.Path) &&
            !string.Equals(context.Request.Headers["dapr-api-token"], token, StringComparison.Ordinal))
        {
            if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
            {
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/grpc";
                context.Response.AppendTrailer("grpc-status", "16");
                context.Response.AppendTrailer("grpc-message", "missing or invalid dapr-api-token");
                return Task.CompletedTask;
            }

            return DaprHttpErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, "ERR_API_TOKEN_INVALID", "invalid api token");
        }

        if (options.EnableApiLogging)
        {
            _apiLog.LogInformation("{Method} {Path}", context.Request.Method, context.Request.Path);
        }

        return null;
    }

    // daprd lets health probes through without the token.
    private static bool IsPublicHealthPath(PathString path) => path.StartsWithSegments("/v1.0/healthz");
}
