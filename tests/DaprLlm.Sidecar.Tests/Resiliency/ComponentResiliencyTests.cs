using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Sidecar.Tests.Resiliency;

/// <summary>
/// A Resiliency policy on a component's outbound calls (targets.components.NAME.outbound), proved on a real
/// bindings.http component whose real HTTP target fails, recovers or hangs.
/// </summary>
public sealed class ComponentResiliencyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Outbound_retries_a_failing_binding_target_until_it_recovers_and_a_timeout_cuts_each_attempt()
    {
        var hits = new ConcurrentDictionary<string, int>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var target = TestApp.Create(Ports.GetFree(), new Dictionary<string, string>(), _ => { }, app =>
        {
            // 503 for the first <failures> calls of a key, then 200.
            app.MapGet("/api/flaky/{key}/{failures:int}", (string key, int failures) =>
                hits.AddOrUpdate(key, 1, (_, n) => n + 1) <= failures ? Results.Text("not yet", statusCode: 503) : Results.Text("recovered"));
            app.MapGet("/api/gone/{key}", (string key) =>
            {
                hits.AddOrUpdate(key, 1, (_, n) => n + 1);
                return Results.Text("gone", statusCode: 404);
            });
            app.MapGet("/api/hang/{key}", async (string key, HttpContext context) =>
            {
                hits.AddOrUpdate(key, 1, (_, n) => n + 1);
                await release.Task.WaitAsync(TimeSpan.FromSeconds(30), context.RequestAborted);
                return Results.Text("too late");
            });
        });
        await target.StartAsync();

        using var folder = new TempFolder();
        folder.Write("components/webhook.yaml", ComponentYaml.Component("webhook", "bindings.http", ("url", $"{target.BaseAddress}/api")));
        folder.Write("components/resiliency.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: component-policies
            spec:
              policies:
                timeouts:
                  short: 1s
                retries:
                  quick:
                    policy: constant
                    duration: 50ms
                    maxRetries: 3
              targets:
                components:
                  webhook:
                    outbound:
                      timeout: short
                      retry: quick
            """);
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("component-policy-app", folder.Sub("components"), folder.Sub("registry")));
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };

        try
        {
            using var recovered = await InvokeAsync(http, "/flaky/f1/2");
            using var givenUp = await InvokeAsync(http, "/flaky/f2/9");
            using var cut = await InvokeAsync(http, "/hang/h1");
            using var gone = await InvokeAsync(http, "/gone/g1");

            Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
            Assert.Equal("recovered", await recovered.Content.ReadAsStringAsync(Ct));
            Assert.Equal(3, hits["f1"]);

            // 1 call + 3 retries, then the last failure is the answer, with its metadata.
            Assert.Equal(HttpStatusCode.InternalServerError, givenUp.StatusCode);
            Assert.Equal(4, hits["f2"]);
            Assert.Equal("503", givenUp.Headers.GetValues("metadata.statusCode").Single());

            // daprd's runner retries any binding error, not only 5xx.
            Assert.Equal(HttpStatusCode.InternalServerError, gone.StatusCode);
            Assert.Equal(4, hits["g1"]);
            Assert.Equal("404", gone.Headers.GetValues("metadata.statusCode").Single());

            // Each attempt is cut by the 1 s timeout and retried: the app saw 4 attempts, none answered.
            Assert.Equal(HttpStatusCode.InternalServerError, cut.StatusCode);
            Assert.Equal("ERR_INVOKE_OUTPUT_BINDING", JsonDocument.Parse(await cut.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("errorCode").GetString());
            Assert.Equal(4, hits["h1"]);
        }
        finally
        {
            release.TrySetResult();
        }
    }

    private static Task<HttpResponseMessage> InvokeAsync(HttpClient http, string path) =>
        http.PostAsync("/v1.0/bindings/webhook", System.Net.Http.Json.JsonContent.Create(new { operation = "get", metadata = new { path } }), Ct);
}
