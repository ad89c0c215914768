using System.Text.Json;
using Dapr.Client;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Bindings;

/// <summary>A local HTTP listener that echoes requests, and a sidecar with a bindings.http component pointing at it.</summary>
public sealed class HttpBindingSidecar : IAsyncLifetime
{
    // CI machines are shared and loaded: a sidecar may take far longer than usual to start.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly TempFolder _folder = new("daprllm-bindings");
    private TestApp? _listener;
    private SidecarProcess? _sidecar;

    public SidecarProcess Sidecar => _sidecar ?? throw new InvalidOperationException("not started");

    public DaprClient Client() =>
        new DaprClientBuilder().UseHttpEndpoint(Sidecar.HttpEndpoint).UseGrpcEndpoint(Sidecar.GrpcEndpoint).Build();

    public async ValueTask InitializeAsync()
    {
        _listener = TestApp.Create(Ports.GetFree(), new Dictionary<string, string>(), _ => { }, app =>
        {
            app.Map("/api/orders", async (HttpContext context) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync(context.RequestAborted);
                return Results.Json(new
                {
                    method = context.Request.Method,
                    path = context.Request.Path.Value,
                    tenant = context.Request.Headers["X-Tenant"].ToString(),
                    body,
                }, new JsonSerializerOptions(JsonSerializerDefaults.Web));
            });
            app.MapGet("/api/missing", () => Results.Text("nothing here", statusCode: 404));
            app.MapGet("/api/overloaded", (HttpContext context) =>
            {
                context.Response.Headers["X-Reason"] = "queue-full";
                return Results.Text("try later", statusCode: 503);
            });
        });
        await _listener.StartAsync();

        var components = _folder.Sub("components");
        _folder.Write("components/webhook.yaml", $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: webhook
            spec:
              type: bindings.http
              version: v1
              metadata:
              - name: url
                value: "{_listener.BaseAddress}/api"
            """);
        _sidecar = await SidecarProcess.StartAsync(new SidecarSettings("bindings-app", components, _folder.Sub("registry")), StartTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync();
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        _folder.Dispose();
    }
}
