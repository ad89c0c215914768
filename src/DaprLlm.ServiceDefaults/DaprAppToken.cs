using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DaprLlm.ServiceDefaults;

/// <summary>
/// Dapr's app API token: with <c>APP_API_TOKEN</c> set (on Kubernetes the <c>dapr.io/app-token-secret</c> annotation;
/// the AppHost sets one per app and run), the sidecar sends it as <c>dapr-api-token</c> on every call to its app, and
/// the app refuses its Dapr-facing routes without it. Those routes (actor methods, event deliveries, internal
/// methods) share a port with what people reach — the gateway's API, the review UI, the audit admin API — so without
/// the check anyone who reaches that port could call them directly.
/// </summary>
public static partial class DaprAppToken
{
    public const string Variable = "APP_API_TOKEN";
    public const string Header = "dapr-api-token";

    /// <summary>
    /// Requires the token on <paramref name="daprPaths"/> (each a path prefix, matched by whole segments) when
    /// <see cref="Variable"/> is configured; otherwise logs once that those routes are open. Call before routing.
    /// </summary>
    public static WebApplication UseDaprAppToken(this WebApplication app, params string[] daprPaths)
    {
        var token = app.Configuration[Variable];
        if (string.IsNullOrEmpty(token))
        {
            LogOpen(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DaprAppToken)), string.Join(", ", daprPaths));
            return app;
        }

        var expected = Encoding.UTF8.GetBytes(token);
        app.Use(async (context, next) =>
        {
            if (IsDaprPath(context.Request.Path, daprPaths) && !Matches(context.Request.Headers[Header].ToString(), expected))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsJsonAsync(new
                {
                    error = new
                    {
                        message = "this route is for the app's Dapr sidecar: a valid dapr-api-token header is required",
                        type = "invalid_request_error",
                        param = (string?)null,
                        code = "invalid_app_token",
                    },
                });
                return;
            }

            await next(context);
        });
        return app;
    }

    public static bool IsDaprPath(PathString path, IReadOnlyList<string> daprPaths)
    {
        foreach (var prefix in daprPaths)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Matches(string given, byte[] expected) =>
        given.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected);

    [LoggerMessage(LogLevel.Warning, "APP_API_TOKEN is not set: the Dapr-facing routes ({Paths}) answer anyone who can reach this app's port. Set the sidecar's app token (dapr.io/app-token-secret) in production.")]
    private static partial void LogOpen(ILogger logger, string paths);
}
