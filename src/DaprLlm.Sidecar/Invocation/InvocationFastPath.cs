using DaprLlm.Sidecar.Hosting;

namespace DaprLlm.Sidecar.Invocation;

/// <summary>
/// Answers service invocation ahead of endpoint routing (invocation is the per-request hot path of a sidecar):
/// the internal sidecar-to-sidecar route, authenticated by the run's shared secret rather than DAPR_API_TOKEN (the
/// caller's sidecar does not know the target's token), and <c>/v1.0/invoke/{id}/method/{method}</c> from the app,
/// after the same API token check and API logging as every other API. Paths it does not recognise exactly (other
/// casing, a missing method, leading "//") go on to the routed endpoint, which behaves the same.
/// </summary>
internal sealed class InvocationFastPath : IStartupFilter
{
    private const string InvokePrefix = "/v1.0/invoke/";
    private const string MethodSegment = "/method/";

    /// <summary>The route the mapped endpoint has (daprd's API path); API metrics are tagged with it.</summary>
    public const string InvokeRoute = "/v1.0/invoke/{id}/method/{**method}";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        var invoker = app.ApplicationServices.GetRequiredService<ServiceInvoker>();
        var gate = app.ApplicationServices.GetRequiredService<ApiGate>();
        var endpoints = app.ApplicationServices.GetRequiredService<EndpointDataSource>();
        // Looked up at the first call: the endpoints are only all mapped once the app has started.
        var invokeEndpoint = new Lazy<Endpoint?>(() => endpoints.Endpoints.FirstOrDefault(e => e is RouteEndpoint { RoutePattern.RawText: InvokeRoute }));
        app.Use(async (context, nextMiddleware) =>
        {
            var path = context.Request.Path.Value;
            if (path is null)
            {
                await nextMiddleware(context);
                return;
            }

            if (path.StartsWith(ServiceInvoker.InternalPrefix, StringComparison.Ordinal))
            {
                var rest = path[ServiceInvoker.InternalPrefix.Length..];
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                var appId = slash < 0 ? rest : rest[..slash];
                await invoker.InvokeFromSidecarAsync(context, appId, slash < 0 ? "" : rest[(slash + 1)..]);
                return;
            }

            if (TryParseInvoke(path, out var target, out var method))
            {
                // The endpoint routing would have chosen (metrics name the call by its route, as for every API).
                context.SetEndpoint(invokeEndpoint.Value);
                if (gate.Refuse(context) is { } refusal)
                {
                    await refusal;
                    return;
                }

                await invoker.InvokeFromAppAsync(context, target, method);
                return;
            }

            await nextMiddleware(context);
        });
        next(app);
    };

    /// <summary>"/v1.0/invoke/{id}/method/{rest}" with a non-empty id: the values routing would bind.</summary>
    internal static bool TryParseInvoke(string path, out string appId, out string method)
    {
        appId = method = "";
        if (!path.StartsWith(InvokePrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var idEnd = path.IndexOf('/', InvokePrefix.Length);
        if (idEnd <= InvokePrefix.Length || string.CompareOrdinal(path, idEnd, MethodSegment, 0, MethodSegment.Length) != 0)
        {
            return false;
        }

        appId = path[InvokePrefix.Length..idEnd];
        method = path[(idEnd + MethodSegment.Length)..];
        return true;
    }
}
