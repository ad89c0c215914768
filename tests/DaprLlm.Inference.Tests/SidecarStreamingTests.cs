using System.Net;
using System.Net.Http.Json;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// The gateway's path to the inference app: two real sidecar processes ("gateway" and "inference", one registry) and
/// the inference app on Kestrel behind the second, so requests cross the same hops as in a deployment.
/// </summary>
public sealed class SidecarPathFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly TempFolder _folder = new("daprllm-inference-sse");
    private SidecarProcess? _gatewaySidecar;
    private SidecarProcess? _inferenceSidecar;
    private KestrelApp? _app;

    public KestrelApp App => _app!;

    /// <summary>
    /// An HttpClient that invokes the inference app through the gateway's sidecar with the Dapr SDK's invocation
    /// handler. A response disposed before its end closes the connection (no drain), as a client that goes away does.
    /// </summary>
    public HttpClient InvokeInference() =>
        new(new InvocationHandler { DaprEndpoint = _gatewaySidecar!.HttpEndpoint, InnerHandler = new SocketsHttpHandler { MaxResponseDrainSize = 0 } })
        {
            BaseAddress = new Uri($"http://{AppIds.Inference}"),
        };

    public async ValueTask InitializeAsync()
    {
        var components = _folder.Sub("components");
        var registry = _folder.Sub("registry");
        var appPort = Ports.GetFree();
        var inference = SidecarProcess.StartAsync(new SidecarSettings(AppIds.Inference, components, registry) { AppPort = appPort }, StartTimeout);
        var gateway = SidecarProcess.StartAsync(new SidecarSettings(AppIds.Gateway, components, registry), StartTimeout);
        try
        {
            await Task.WhenAll(inference, gateway);
        }
        finally
        {
            _inferenceSidecar = inference.IsCompletedSuccessfully ? inference.Result : null;
            _gatewaySidecar = gateway.IsCompletedSuccessfully ? gateway.Result : null;
        }

        _app = new KestrelApp();
        _app.UseKestrel(k => k.Listen(IPAddress.Loopback, appPort));
        _app.StartServer();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_gatewaySidecar is not null)
        {
            await _gatewaySidecar.DisposeAsync();
        }

        if (_inferenceSidecar is not null)
        {
            await _inferenceSidecar.DisposeAsync();
        }

        _folder.Dispose();
    }

    /// <summary>The real inference app on the demo model, listening on a real port for its sidecar.</summary>
    public sealed class KestrelApp : InferenceAppFactory;
}

/// <summary>
/// v1/generate/stream through both sidecars: one SSE event per token, in order, and a disconnect that cancels (in the
/// serial collection, see <see cref="DisconnectCollection"/>).
/// </summary>
[Collection(DisconnectCollection.Name)]
public sealed class SidecarStreamingTests(SidecarPathFixture path) : IClassFixture<SidecarPathFixture>
{
    private const string Verse = "And God said, Let there be light: and there was light.";

    [Fact]
    public async Task Stream_through_both_sidecars_sends_each_token_as_its_own_event_then_the_end_matching_the_plain_result()
    {
        var ct = TestContext.Current.CancellationToken;
        using var invoke = path.InvokeInference();
        var request = Api.Request(Verse, 30, temperature: 0.9, seed: 11);
        using var plainResponse = await invoke.PostAsJsonAsync(ServiceMethods.Generate, request, ct);
        Assert.Equal(HttpStatusCode.OK, plainResponse.StatusCode);
        var plain = System.Text.Json.JsonDocument.Parse(await plainResponse.Content.ReadAsStringAsync(ct)).RootElement;

        using var message = new HttpRequestMessage(HttpMethod.Post, ServiceMethods.GenerateStream) { Content = JsonContent.Create(request) };
        using var response = await invoke.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct);
        var events = await Api.ReadEventsAsync(response, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var end = events[^1];
        Assert.Equal("end", end.GetProperty("type").GetString());
        Assert.All(events[..^1], e => Assert.Equal("token", e.GetProperty("type").GetString()));
        Assert.Equal(plain.GetProperty("text").GetString(), string.Concat(events[..^1].Select(e => e.GetProperty("text").GetString())));
        Assert.Equal(plain.GetProperty("completionTokens").GetInt32(), end.GetProperty("completionTokens").GetInt32());
        Assert.Equal(plain.GetProperty("promptTokens").GetInt32(), end.GetProperty("promptTokens").GetInt32());
        Assert.Equal(plain.GetProperty("finishReason").GetString(), end.GetProperty("finishReason").GetString());
        // Events are not merged on the way: no more of them than tokens, and more than one for a multi-token answer.
        Assert.InRange(events.Count - 1, Math.Min(2, end.GetProperty("completionTokens").GetInt32()), end.GetProperty("completionTokens").GetInt32());
    }

    [Fact]
    public async Task A_client_that_disconnects_behind_both_sidecars_cancels_the_generation_and_frees_its_slot()
    {
        var ct = TestContext.Current.CancellationToken;
        var registry = path.App.Services.GetRequiredService<ModelRegistry>();
        var scheduler = (await registry.GetAsync(InferenceAppFactory.Model)).Scheduler!;
        using var finishes = new FinishReasons(path.App.Services);
        using var invoke = path.InvokeInference();
        // Seeded sampling is deterministic: left alone this request runs to its max_tokens (checked first), so a
        // "cancelled" end can only come from the disconnect.
        var request = Api.Request(Verse, 200, temperature: 2.0, seed: 3, topP: 1.0, topK: 0);
        using (var uncut = await invoke.PostAsJsonAsync(ServiceMethods.Generate, request, ct))
        {
            var body = System.Text.Json.JsonDocument.Parse(await uncut.Content.ReadAsStringAsync(ct)).RootElement;
            Assert.Equal("length", body.GetProperty("finishReason").GetString());
        }

        // Decode steps slowed (the scheduler's test-only step hook) so that 200 tokens take seconds: on a loaded
        // machine the unslowed model could reach max_tokens before the disconnect crossed both sidecars (seen once in CI).
        scheduler.Watchdog.OnStep = kind =>
        {
            if (kind == "decode")
            {
                Thread.Sleep(20);
            }
        };
        try
        {
            using (var message = new HttpRequestMessage(HttpMethod.Post, ServiceMethods.GenerateStream) { Content = JsonContent.Create(request) })
            using (var response = await invoke.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct))
            {
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
                Assert.StartsWith("data: ", await reader.ReadLineAsync(ct));
            }

            await Poll.UntilAsync(() => finishes.Seen.Count >= 2, TimeSpan.FromSeconds(30), "the streamed request to finish");
            Assert.Equal(["cancelled", "length"], finishes.Seen.Order(StringComparer.Ordinal));
            await Poll.UntilAsync(() => scheduler.ActiveRows == 0 && scheduler.QueueDepth == 0, TimeSpan.FromSeconds(30), "the cancelled row to leave the batch");
        }
        finally
        {
            scheduler.Watchdog.OnStep = null;
        }
    }
}
