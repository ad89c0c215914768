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

        // The internal route and /v1.0/invoke from the app are answered ahead of endpoint routing (hot path).
        builder.Services.AddSingleton<IStartupFilter, InvocationFastPath>();
        return builder;
    }

    public static WebApplication MapInvocation(this WebApplication app)
    {
        var invoker = app.Services.GetRequiredService<ServiceInvoker>();
        // Normally answered by InvocationFastPath before routing; the endpoint serves the paths it leaves (other casing...).
        app.Map(InvocationFastPath.InvokeRoute, (HttpContext context, string id, string? method) =>
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
}
