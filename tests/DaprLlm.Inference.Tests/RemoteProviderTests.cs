using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Inference.Tests.Infrastructure;

namespace DaprLlm.Inference.Tests;

/// <summary>The fake OpenAI-compatible server and an inference app whose catalog has remote models pointing at it.</summary>
public sealed class RemoteProviderFixture : IAsyncLifetime
{
    public const string Chat = "remote-chat";
    public const string ChatRemoteName = "gpt-fake-mini";
    public const string Flaky = "remote-flaky";
    public const string Down = "remote-down";
    public const string Embedding = "remote-embed";

    public FakeOpenAiServer Server { get; private set; } = null!;

    public RemoteAppFactory App { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await FakeOpenAiServer.StartAsync();
        App = new RemoteAppFactory(Server.Endpoint);
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Server.DisposeAsync();
    }

    public sealed class RemoteAppFactory(string endpoint) : InferenceAppFactory
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
        {
            [$"Inference:Models:{Chat}:Provider"] = "openai",
            [$"Inference:Models:{Chat}:Endpoint"] = endpoint,
            [$"Inference:Models:{Chat}:RemoteModel"] = ChatRemoteName,
            [$"Inference:Models:{Chat}:ApiKey"] = FakeOpenAiServer.Key,
            [$"Inference:Models:{Chat}:Tier"] = "large",
            [$"Inference:Models:{Chat}:ContextLength"] = "4096",
            [$"Inference:Models:{Flaky}:Provider"] = "openai",
            [$"Inference:Models:{Flaky}:Endpoint"] = endpoint,
            [$"Inference:Models:{Flaky}:Tier"] = "large",
            // Nothing listens on port 9 (discard) on loopback: connection refused.
            [$"Inference:Models:{Down}:Provider"] = "openai",
            [$"Inference:Models:{Down}:Endpoint"] = "http://127.0.0.1:9/v1",
            [$"Inference:Models:{Down}:TimeoutSeconds"] = "5",
            [$"Inference:Models:{Embedding}:Provider"] = "openai",
            [$"Inference:Models:{Embedding}:Kind"] = "embedding",
            [$"Inference:Models:{Embedding}:Endpoint"] = endpoint,
            [$"Inference:Models:{Embedding}:RemoteModel"] = "text-embedding-fake",
            [$"Inference:Models:{Embedding}:ApiKey"] = FakeOpenAiServer.Key,
        };
    }
}

/// <summary>
/// Remote OpenAI-compatible models in the catalog, through Microsoft.Extensions.AI against a real local HTTP
/// server: chat, streaming, embeddings, the remote's errors in our error shapes, and unhealthy-model reporting.
/// </summary>
public sealed class RemoteProviderTests(RemoteProviderFixture fixture) : IClassFixture<RemoteProviderFixture>
{
    private readonly HttpClient _client = fixture.App.CreateClient();

    [Fact]
    public async Task Remote_chat_returns_the_remote_text_usage_and_finish_reason()
    {
        var ct = TestContext.Current.CancellationToken;

        var answer = await Api.GenerateAsync(_client, Api.Request("Say it.", maxTokens: 100, temperature: 0.5, seed: 7, model: RemoteProviderFixture.Chat), ct);

        Assert.Equal(FakeOpenAiServer.Reply, answer.GetProperty("text").GetString());
        Assert.Equal("stop", answer.GetProperty("finishReason").GetString());
        Assert.Equal(11, answer.GetProperty("promptTokens").GetInt32());
        Assert.Equal(FakeOpenAiServer.Reply.Split(' ').Length, answer.GetProperty("completionTokens").GetInt32());
        var sent = fixture.Server.LastChatRequests[RemoteProviderFixture.ChatRemoteName];
        Assert.Equal("Say it.", sent["messages"]![0]!["content"]!.ToString());
        Assert.Equal(7, sent["seed"]!.GetValue<long>());
        Assert.Contains($"Bearer {FakeOpenAiServer.Key}", fixture.Server.Authorizations);
    }

    [Fact]
    public async Task Remote_chat_passes_the_penalties_and_the_logit_bias_to_the_remote()
    {
        var ct = TestContext.Current.CancellationToken;
        var request = System.Text.Json.JsonSerializer.SerializeToNode(Api.Request("Bias it.", maxTokens: 100, model: RemoteProviderFixture.Chat))!.AsObject();
        request["presencePenalty"] = 0.5;
        request["frequencyPenalty"] = -0.25;
        request["logitBias"] = new System.Text.Json.Nodes.JsonObject { ["42"] = -100, ["7"] = 3 };

        var answer = await Api.GenerateAsync(_client, request, ct);

        Assert.Equal(FakeOpenAiServer.Reply, answer.GetProperty("text").GetString());
        var sent = fixture.Server.LastChatRequests[RemoteProviderFixture.ChatRemoteName];
        Assert.Equal("Bias it.", sent["messages"]![0]!["content"]!.ToString());
        Assert.Equal(0.5, sent["presence_penalty"]!.GetValue<double>());
        Assert.Equal(-0.25, sent["frequency_penalty"]!.GetValue<double>());
        Assert.Equal(-100, sent["logit_bias"]!["42"]!.GetValue<int>());
        Assert.Equal(3, sent["logit_bias"]!["7"]!.GetValue<int>());
    }

    [Fact]
    public async Task Remote_chat_streams_tokens_in_order_then_an_end_with_length()
    {
        var ct = TestContext.Current.CancellationToken;
        using var response = await _client.SendAsync(Api.StreamRequest(Api.Request("Say it.", maxTokens: 4, model: RemoteProviderFixture.Chat)),
            HttpCompletionOption.ResponseHeadersRead, ct);

        var events = await Api.ReadEventsAsync(response, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tokens = events.Where(e => e.GetProperty("type").GetString() == "token").Select(e => e.GetProperty("text").GetString()).ToList();
        Assert.Equal(["In", " the", " beginning", " was"], tokens);
        var end = events[^1];
        Assert.Equal("end", end.GetProperty("type").GetString());
        Assert.Equal("length", end.GetProperty("finishReason").GetString());
        Assert.Equal(4, end.GetProperty("completionTokens").GetInt32());
    }

    [Fact]
    public async Task Remote_embeddings_return_the_remote_vectors_in_input_order_with_usage()
    {
        var ct = TestContext.Current.CancellationToken;
        string[] input = ["Jesus wept.", "The LORD is my shepherd"];

        using var response = await _client.PostAsJsonAsync("/v1/embeddings", new { model = RemoteProviderFixture.Embedding, input }, ct);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = body.GetProperty("data").EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToList();
        Assert.Equal(input.Select(FakeOpenAiServer.Vector), data);
        Assert.Equal(7, body.GetProperty("promptTokens").GetInt32());
    }

    [Fact]
    public async Task Remote_bad_request_and_rate_limit_map_to_400_and_429_without_marking_the_model_failed()
    {
        var ct = TestContext.Current.CancellationToken;
        fixture.Server.Failures[RemoteProviderFixture.Flaky] = 400;
        var bad = await PostAsync(RemoteProviderFixture.Flaky, ct);
        fixture.Server.Failures[RemoteProviderFixture.Flaky] = 429;
        var limited = await PostAsync(RemoteProviderFixture.Flaky, ct);
        fixture.Server.Failures.TryRemove(RemoteProviderFixture.Flaky, out _);

        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request_error"), (bad.Status, bad.Type));
        Assert.Equal((HttpStatusCode.TooManyRequests, "rate_limit_error"), (limited.Status, limited.Type));
        Assert.NotNull(limited.RetryAfter);
        Assert.Equal("ready", await StatusAsync(RemoteProviderFixture.Flaky, ct));
    }

    [Fact]
    public async Task Remote_server_error_is_503_marks_the_model_failed_and_a_later_success_restores_it()
    {
        var ct = TestContext.Current.CancellationToken;
        fixture.Server.Failures[RemoteProviderFixture.Flaky] = 500;

        var failed = await PostAsync(RemoteProviderFixture.Flaky, ct);
        var status = await StatusAsync(RemoteProviderFixture.Flaky, ct);
        using var health = await _client.GetAsync("/health", ct);
        var streamed = await _client.SendAsync(Api.StreamRequest(Api.Request("Say it.", model: RemoteProviderFixture.Flaky)), ct);
        fixture.Server.Failures.TryRemove(RemoteProviderFixture.Flaky, out _);
        await Api.GenerateAsync(_client, Api.Request("Say it.", model: RemoteProviderFixture.Flaky), ct);

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "server_error", "model_unavailable"), (failed.Status, failed.Type, failed.Code));
        Assert.DoesNotContain("fake failure", failed.Message, StringComparison.Ordinal);
        Assert.Equal("failed", status);
        // Degraded, not unhealthy: the replica still serves its other models (the gateway routes around this one).
        Assert.Equal("Degraded", await health.Content.ReadAsStringAsync(ct));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, streamed.StatusCode);
        Assert.Equal("ready", await StatusAsync(RemoteProviderFixture.Flaky, ct));
    }

    [Fact]
    public async Task Unreachable_endpoint_answers_503_model_unavailable_and_reports_the_model_failed()
    {
        var ct = TestContext.Current.CancellationToken;

        var failed = await PostAsync(RemoteProviderFixture.Down, ct);

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "model_unavailable"), (failed.Status, failed.Code));
        Assert.NotNull(failed.RetryAfter);
        Assert.Equal("failed", await StatusAsync(RemoteProviderFixture.Down, ct));
        var models = JsonDocument.Parse(await _client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");
        var down = models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == RemoteProviderFixture.Down);
        Assert.Equal(("openai", "remote"), (down.GetProperty("provider").GetString(), down.GetProperty("executionProvider").GetString()));
    }

    [Fact]
    public async Task Max_tokens_beyond_the_configured_remote_context_is_refused_before_calling_the_remote()
    {
        var ct = TestContext.Current.CancellationToken;

        using var response = await _client.PostAsJsonAsync("/v1/generate", Api.Request("Say it.", maxTokens: 5000, model: RemoteProviderFixture.Chat), ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
    }

    private async Task<(HttpStatusCode Status, string? Type, string? Code, string Message, TimeSpan? RetryAfter)> PostAsync(string model, CancellationToken ct)
    {
        using var response = await _client.PostAsJsonAsync("/v1/generate", Api.Request("Say it.", model: model), ct);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
        return (response.StatusCode, error.GetProperty("type").GetString(), error.TryGetProperty("code", out var c) ? c.GetString() : null,
            error.GetProperty("message").GetString()!, response.Headers.RetryAfter?.Delta);
    }

    private async Task<string?> StatusAsync(string model, CancellationToken ct)
    {
        var models = JsonDocument.Parse(await _client.GetStringAsync("/v1/models", ct)).RootElement.GetProperty("models");
        return models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == model).GetProperty("status").GetString();
    }
}
