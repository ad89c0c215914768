using System.Text;
using DaprLlm.Sidecar.Grpc;

namespace DaprLlm.Sidecar.Invocation;

/// <summary>
/// Wiring of service invocation: /v1.0/invoke/{id}/method/{method} for every verb, the dapr-app-id header
/// (and basic-auth) forms on any other path, gRPC InvokeService, and the internal sidecar-to-sidecar route.
/// </summary>
public static class InvocationFeature
{
    public static WebApplicationBuilder AddInvocation(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<InternalInvocationAuth>();
        builder.Services.AddSingleton<ServiceInvoker>();
        builder.Services.AddSingleton<InvokeServiceGrpc>();

        // The internal route is authenticated by the run's shared secret, not by DAPR_API_TOKEN (the caller's
        // sidecar does not know the target's token), so it is answered before the API token check.
        builder.Services.AddSingleton<IStartupFilter, InternalRouteStartupFilter>();
        builder.Services.AddHttpClient(ServiceInvoker.SidecarClientName)
            .ConfigureHttpClient(c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                UseProxy = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = System.Net.DecompressionMethods.None,
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
                UseCookies = false,
            })
            // The factory's logging handlers open a log scope per request (an AsyncLocal push) even when nothing logs.
            .RemoveAllLoggers();
        return builder;
    }

    public static WebApplication MapInvocation(this WebApplication app)
    {
        var invoker = app.Services.GetRequiredService<ServiceInvoker>();
        app.Map("/v1.0/invoke/{id}/method/{**method}", (HttpContext context, string id, string? method) =>
            invoker.InvokeFromAppAsync(context, id, method ?? ""));

        // daprd's fallback: a request for a path no API serves, naming its target in dapr-app-id (or basic auth).
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint() is null && TargetFromHeaders(context.Request) is { } target &&
                context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
            {
                context.Request.Headers.Remove(InvocationHeaders.AppIdHeader);
                await invoker.InvokeFromAppAsync(context, target, context.Request.Path.Value?.TrimStart('/') ?? "");
                return;
            }

            await next(context);
        });
        app.MapGrpcService<InvokeServiceGrpc>();
        return app;
    }

    private static string? TargetFromHeaders(HttpRequest request)
    {
        if (request.Headers[InvocationHeaders.AppIdHeader].ToString() is { Length: > 0 } appId)
        {
            return appId;
        }

        var auth = request.Headers.Authorization.ToString();
        if (auth.StartsWith("Basic ", StringComparison.Ordinal))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(auth["Basic ".Length..])).Split(':');
                if (pair.Length == 2 && pair[0].Equals(InvocationHeaders.AppIdHeader, StringComparison.OrdinalIgnoreCase) && pair[1].Length > 0)
                {
                    return pair[1];
                }
            }
            catch (FormatException)
            {
            }
        }

        return null;
    }

    private sealed class InternalRouteStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            var invoker = app.ApplicationServices.GetRequiredService<ServiceInvoker>();
            app.Use(async (context, nextMiddleware) =>
            {
                var path = context.Request.Path.Value;
                if (path is not null && path.StartsWith(ServiceInvoker.InternalPrefix, StringComparison.Ordinal))
                {
                    var rest = path[ServiceInvoker.InternalPrefix.Length..];
                    var slash = rest.IndexOf('/', StringComparison.Ordinal);
                    var appId = slash < 0 ? rest : rest[..slash];
                    await invoker.InvokeFromSidecarAsync(context, appId, slash < 0 ? "" : rest[(slash + 1)..]);
                    return;
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }
}
