using System.Net;
using System.Text.Json;
using DaprLlm.Gateway.Tests.Infrastructure;
using DaprLlm.Gateway.Upstream;
using DaprLlm.Sidecar.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>
/// The timeouts and retries of the gateway's upstream calls are Dapr resiliency's (components/local/resiliency.yaml),
/// so here the gateway keeps its real upstream channels: gateway → its sidecar → the target's sidecar → a fake app,
/// all real processes and HTTP, with the shipped policy loaded by every sidecar.
/// </summary>
public sealed class UpstreamResiliencyTests(ResilientGateway gateway) : IClassFixture<ResilientGateway>
{
    [Fact]
    public async Task A_transient_safety_failure_is_retried_and_a_hanging_safety_call_is_cut_at_the_moderation_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Node.Client(gateway.Environment.DevKey);
        const string Key = "safety v1/moderations";

        // One 503, then the shipped retry policy (idempotentCall) tries again: the client never sees the failure.
        var before = gateway.Safety.ArrivalsAt(Key);
        gateway.Safety.TransientFailures[Key] = 1;
        using (var ok = await client.PostAsJsonAsync("/v1/moderations", new { input = "a calm sea" }, ct))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal(before + 2, gateway.Safety.ArrivalsAt(Key));
        }

        // A call that never answers: each attempt is cut at the moderation timeout and retried maxRetries (3) times,
        // then the client gets an OpenAI error instead of waiting.
        before = gateway.Safety.ArrivalsAt(Key);
        gateway.Safety.Hanging[Key] = true;
        try
        {
            using var cut = await client.PostAsJsonAsync("/v1/moderations", new { input = "a calm sea" }, ct);
            // Every attempt was cut by the shipped timeout: a gateway timeout, not a generic upstream failure.
            await AssertOpenAiErrorAsync(cut, HttpStatusCode.GatewayTimeout, "upstream_timeout", ct);
            Assert.Equal(before + 4, gateway.Safety.ArrivalsAt(Key));
        }
        finally
        {
            gateway.Safety.Hanging.TryRemove(Key, out _);
        }

        // Safety answers again: the next call goes through.
        using var again = await client.PostAsJsonAsync("/v1/moderations", new { input = "a calm sea" }, ct);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task A_client_s_bad_input_answered_400_is_neither_retried_nor_allowed_to_cut_off_other_clients()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Node.Client(gateway.Environment.DevKey);
        const string Key = "safety v1/moderations";

        // daprd counts every non-2xx answer against a circuit breaker: with one on the safety target, a handful of
        // bad requests from one client would refuse moderation (so every chat request) to all tenants for its open time.
        var before = gateway.Safety.ArrivalsAt(Key);
        for (var i = 0; i < 8; i++)
        {
            using var bad = await client.PostAsJsonAsync("/v1/moderations", new { input = Array.Empty<string>() }, ct);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        Assert.Equal(before + 8, gateway.Safety.ArrivalsAt(Key)); // one attempt each: a 400 is not retried

        using var good = await client.PostAsJsonAsync("/v1/moderations", new { input = "a calm sea" }, ct);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Fact]
    public async Task A_hanging_generation_is_cut_at_the_generation_timeout_and_sent_to_no_other_region()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Node.Client(gateway.Environment.DevKey);
        const string Key = "inference v1/generate";
        const string UsKey = "inference-us v1/generate";
        var chat = new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "tell me about the sea" } } };

        using (var ok = await client.PostAsJsonAsync("/v1/chat/completions", chat, ct))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var before = gateway.Inference.ArrivalsAt(Key);
        gateway.Inference.Hanging[Key] = true;
        try
        {
            var usBefore = gateway.InferenceUs.ArrivalsAt(UsKey);
            using var cut = await client.PostAsJsonAsync("/v1/chat/completions", chat, ct);
            // The replica was reached and hung until the shipped timeout cut it: a gateway timeout, not an unreachable region.
            await AssertOpenAiErrorAsync(cut, HttpStatusCode.GatewayTimeout, "upstream_timeout", ct);

            // Generation is not idempotent: the shipped policy has no retry for inference, so one attempt only, and the
            // gateway does not send it to the healthy us replica either (the tenant may use both regions).
            Assert.Equal(before + 1, gateway.Inference.ArrivalsAt(Key));
            Assert.Equal(usBefore, gateway.InferenceUs.ArrivalsAt(UsKey));
        }
        finally
        {
            gateway.Inference.Hanging.TryRemove(Key, out _);
        }
    }

    private static async Task AssertOpenAiErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }
}

/// <summary>
/// A gateway whose upstream calls go through real sidecars to fake safety and inference apps (each behind its own
/// sidecar), with the shipped Resiliency file. Only its two timeouts are shortened (10 s → 1 s, 120 s → 2 s) so a
/// hanging call fails in seconds; retries, breakers and targets are the shipped ones.
/// </summary>
public sealed class ResilientGateway : IAsyncLifetime
{
    private SidecarProcess? _safetySidecar;
    private SidecarProcess? _inferenceSidecar;
    private SidecarProcess? _inferenceUsSidecar;

    public GatewayEnvironment Environment { get; } = new();

    public FakeBackend Safety { get; } = new() { ServeAs = "safety" };

    public FakeBackend Inference { get; } = new() { ServeAs = "inference" };

    /// <summary>A healthy replica in the tenant's other region: a hung generation must not be sent to it.</summary>
    public FakeBackend InferenceUs { get; } = new() { ServeAs = "inference-us" };

    public GatewayNode Node { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await Environment.InitializeAsync();
        var shipped = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "shipped", "resiliency.yaml"));
        var policy = Shorten(Shorten(shipped, "moderation: 10s", "moderation: 1s"), "generation: 120s", "generation: 2s");
        await File.WriteAllTextAsync(Path.Combine(Environment.Components, "resiliency.yaml"), policy);

        await Safety.StartAsync();
        await Inference.StartAsync();
        await InferenceUs.StartAsync();
        _safetySidecar = await SidecarProcess.StartAsync(new SidecarSettings("safety", Environment.Components, Environment.Registry) { AppPort = Safety.Port });
        _inferenceSidecar = await SidecarProcess.StartAsync(new SidecarSettings("inference", Environment.Components, Environment.Registry) { AppPort = Inference.Port });
        _inferenceUsSidecar = await SidecarProcess.StartAsync(new SidecarSettings("inference-us", Environment.Components, Environment.Registry) { AppPort = InferenceUs.Port });
        var settings = new Dictionary<string, string?>
        {
            ["Routing:InferenceByRegion:eu"] = "inference",
            ["Routing:InferenceByRegion:us"] = "inference-us",
            ["Chat:Models:0"] = "daprllm-demo",
            ["SemanticCache:Enabled"] = "false",
        };

        // The product's channels (through the gateway's sidecar), registered after the tests' fake ones.
        Node = await GatewayNode.StartAsync(Environment, Safety, TimeProvider.System, settings,
            services => services.AddSingleton<IUpstreamChannels, DaprUpstreamChannels>());
    }

    public async ValueTask DisposeAsync()
    {
        if (Node is not null)
        {
            await Node.DisposeAsync();
        }

        foreach (var sidecar in new[] { _safetySidecar, _inferenceSidecar, _inferenceUsSidecar })
        {
            if (sidecar is not null)
            {
                await sidecar.DisposeAsync();
            }
        }

        await Safety.DisposeAsync();
        await Inference.DisposeAsync();
        await InferenceUs.DisposeAsync();
        await Environment.DisposeAsync();
    }

    // Fails loudly when the shipped file no longer has the policy the test relies on.
    private static string Shorten(string yaml, string from, string to) =>
        yaml.Contains(from, StringComparison.Ordinal)
            ? yaml.Replace(from, to, StringComparison.Ordinal)
            : throw new InvalidOperationException($"components/local/resiliency.yaml no longer has '{from}'");
}
