using System.Net;
using DaprLlm.Sidecar.Components;
using DaprLlm.Sidecar.Http;
using DaprLlm.Sidecar.State;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace DaprLlm.Sidecar.Hosting;

/// <summary>Kestrel listeners, logging, the component registry and the cross-cutting HTTP pipeline.</summary>
public static class SidecarHosting
{
    public static WebApplicationBuilder AddSidecarHosting(this WebApplicationBuilder builder, SidecarOptions options)
    {
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ApiGate>();
        builder.Logging.ClearProviders();
        if (options.LogAsJson)
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        builder.Logging.SetMinimumLevel(options.LogLevel.ToLowerInvariant() switch
        {
            "debug" => LogLevel.Debug,
            "warn" or "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "fatal" => LogLevel.Critical,
            _ => LogLevel.Information,
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = options.ListenAddress is "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.ListenAddress);
            // gRPC first: Kestrel accepts on each port as it binds it, and an app that saw /v1.0/healthz/outbound answer
            // on the HTTP port (the SDK's WaitForSidecarAsync) goes straight on to gRPC calls.
            kestrel.Listen(address, options.DaprGrpcPort, l => l.Protocols = HttpProtocols.Http2);
            kestrel.Listen(address, options.DaprHttpPort, l => l.Protocols = HttpProtocols.Http1AndHttp2);
            kestrel.Limits.MaxRequestBodySize = options.MaxBodySizeBytes;
            // HttpClient reads a target's header bytes as Latin-1; writing them back the same way passes any value through
            // byte for byte, as daprd does (Kestrel's ASCII-only default turned a UTF-8 header into an unhandled 500).
            kestrel.ResponseHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MaxBodySizeBytes;
            o.EnableDetailedErrors = true;
        });
        builder.Services.AddSingleton<ComponentRegistry>();
        builder.Services.AddSingleton<IComponentFactory, InMemoryStateStoreFactory>();
        builder.Services.AddSingleton<SidecarRegistry>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SidecarRegistry>());
        builder.Services.AddSingleton<AppChannel.AppChannel>();
        return builder;
    }

    /// <summary>Path normalisation, API token check, API logging and daprd's unescaping of route parameters; call before mapping any API.</summary>
    public static WebApplication UseSidecarPipeline(this WebApplication app)
    {
        var gate = app.Services.GetRequiredService<ApiGate>();
        app.Use(async (context, next) =>
        {
            // The .NET actor SDK sends "//v1.0/actors/...": collapse leading slashes like daprd's router.
            var path = context.Request.Path.Value;
            if (path is not null && path.StartsWith("//", StringComparison.Ordinal))
            {
                context.Request.Path = "/" + path.TrimStart('/');
            }

            if (gate.Refuse(context) is { } refusal)
            {
                await refusal;
                return;
            }

            await next(context);
        });
        app.UseDaprPathParameters();
        return app;
    }

    /// <summary>Health and shutdown endpoints and the 501 answer for APIs the local sidecar does not implement.</summary>
    public static WebApplication MapSidecarCore(this WebApplication app)
    {
        app.MapHealthzApi();
        app.MapShutdownApi();
        app.MapFallback("/v1.0/{**rest}", (HttpContext context) => DaprHttpErrors.Error(StatusCodes.Status501NotImplemented,
            "ERR_NOT_IMPLEMENTED", $"{context.Request.Method} {context.Request.Path} is not implemented by the DaprLlm local sidecar"));
        app.MapFallback("/v1.0-alpha1/{**rest}", (HttpContext context) => DaprHttpErrors.Error(StatusCodes.Status501NotImplemented,
            "ERR_NOT_IMPLEMENTED", $"{context.Request.Method} {context.Request.Path} is not implemented by the DaprLlm local sidecar"));
        app.MapFallback("/v1.0-beta1/{**rest}", (HttpContext context) => DaprHttpErrors.Error(StatusCodes.Status501NotImplemented,
            "ERR_NOT_IMPLEMENTED", $"{context.Request.Method} {context.Request.Path} is not implemented by the DaprLlm local sidecar"));

        // Grpc.AspNetCore answers a method no service overrides with a generic "Method is unimplemented." from an endpoint
        // of its own ({unimplementedMethod:grpcunimplemented}); name the API instead, as daprd's UNIMPLEMENTED does.
        app.Use((context, next) =>
        {
            if (context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern } &&
                pattern.Contains("grpcunimplemented", StringComparison.Ordinal) &&
                context.Request.Path.StartsWithSegments("/dapr.proto.runtime.v1.Dapr", out var method))
            {
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "12"; // UNIMPLEMENTED, as a trailers-only response
                context.Response.Headers["grpc-message"] = Uri.EscapeDataString(
                    $"dapr.proto.runtime.v1.Dapr{method} is not implemented by the DaprLlm local sidecar");
                return Task.CompletedTask;
            }

            return next(context);
        });
        return app;
    }
}
