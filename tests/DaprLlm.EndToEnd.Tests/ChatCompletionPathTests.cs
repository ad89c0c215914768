using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.EndToEnd.Tests.Infrastructure;

namespace DaprLlm.EndToEnd.Tests;

/// <summary>One real request through gateway → safety → inference → safety → pub/sub → audit, every hop via a sidecar.</summary>
public sealed class ChatCompletionPathTests(DaprLlmAppFixture system) : IClassFixture<DaprLlmAppFixture>
{
    private static readonly TimeSpan EventualTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Chat_completion_is_answered_in_openai_shape_audited_and_traced_across_apps()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");

        using var response = await gateway.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = "Say something about the sea." } },
            max_tokens = 16,
            temperature = 0, // greedy: the answer (and so its output moderation) is the same on every run
        }, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = Assert.Single(response.Headers.GetValues("x-request-id"));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var root = body.RootElement;
        Assert.Equal(requestId, root.GetProperty("id").GetString());
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        var choice = Assert.Single(root.GetProperty("choices").EnumerateArray());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.False(string.IsNullOrWhiteSpace(choice.GetProperty("message").GetProperty("content").GetString()));
        Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        var usage = root.GetProperty("usage");
        Assert.True(usage.GetProperty("completion_tokens").GetInt32() > 0);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(),
            usage.GetProperty("total_tokens").GetInt32());

        var record = await WaitForAuditRecordAsync(requestId, ct);
        using var recordJson = JsonDocument.Parse(record);
        Assert.Equal(requestId, recordJson.RootElement.GetProperty("requestId").GetString());
        Assert.Equal("completed", recordJson.RootElement.GetProperty("outcome").GetString());
        Assert.Equal(usage.GetProperty("completion_tokens").GetInt32(), recordJson.RootElement.GetProperty("completionTokens").GetInt32());
        var traceId = recordJson.RootElement.GetProperty("traceId").GetString();
        Assert.False(string.IsNullOrEmpty(traceId));

        // The same trace must hold spans exported by the gateway, safety and inference apps and by the sidecars between them.
        string[] hops = ["gateway", "gateway-dapr", "safety-dapr", "safety", "inference-dapr", "inference"];
        var services = await Poll.UntilAsync(() =>
        {
            var seen = system.Traces.Spans.Where(s => s.TraceId == traceId).Select(s => s.Service).ToHashSet();
            return Task.FromResult(seen.IsSupersetOf(hops) ? seen : null);
        }, EventualTimeout, $"spans of trace {traceId} from {string.Join(", ", hops)}");
        Assert.Superset(hops.ToHashSet(), services);
    }

    [Fact]
    public async Task A_developer_message_is_answered_by_the_real_model_and_json_mode_is_refused_up_front()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");

        // OpenAI's SDKs send the system prompt as "developer" for newer models; the inference app knows only "system".
        using var response = await gateway.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "developer", content = "Answer in one sentence." }, new { role = "user", content = "Say something about the hills." } },
            max_tokens = 8,
            temperature = 0,
        }, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var body = JsonDocument.Parse(text);
        Assert.False(string.IsNullOrWhiteSpace(body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));

        // The demo model cannot promise JSON: the request is refused before any quota or generation is spent on it.
        using var json = await gateway.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = "List three hills." } },
            response_format = new { type = "json_object" },
        }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);
        using var error = JsonDocument.Parse(await json.Content.ReadAsStringAsync(ct));
        Assert.Equal("unsupported_value", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("response_format", error.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Penalties_change_the_real_model_s_greedy_answer_and_a_token_outside_its_vocabulary_is_named()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");
        async Task<string> AnswerAsync(double penalty)
        {
            using var response = await gateway.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = "daprllm-demo",
                messages = new[] { new { role = "user", content = "Tell me of the kings of the land and their sons." } },
                max_tokens = 32,
                temperature = 0,
                presence_penalty = penalty,
                frequency_penalty = penalty,
            }, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            return JsonDocument.Parse(text).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        }

        // Greedy decoding repeats common tokens; penalizing them must change what the model says.
        Assert.NotEqual(await AnswerAsync(0), await AnswerAsync(2));

        // Only the model knows its vocabulary: its answer reaches the client with the range.
        using var outside = await gateway.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = "Say something." } },
            max_tokens = 4,
            logit_bias = new Dictionary<string, int> { ["9999999"] = -100 },
        }, ct);
        var body = await outside.Content.ReadAsStringAsync(ct);
        Assert.True(outside.StatusCode == HttpStatusCode.BadRequest, body);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("invalid_value", error.GetProperty("code").GetString());
        Assert.Equal("logit_bias", error.GetProperty("param").GetString());
        Assert.Contains("vocabulary has", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Max_tokens_beyond_the_model_s_context_gets_400_context_length_exceeded_with_the_sizes()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");

        // Within the gateway's own max_tokens limit, beyond the demo model's context: only the inference app knows that.
        using var response = await gateway.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = "Hello" } },
            max_tokens = 4000,
        }, ct);

        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        using var body = JsonDocument.Parse(text);
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("max_tokens", error.GetProperty("param").GetString());
        Assert.Contains("4000", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_embedding_input_longer_than_the_model_reads_gets_400_context_length_exceeded_instead_of_a_vector_of_its_beginning()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");
        var longText = string.Join(' ', Enumerable.Repeat("hello", 600));

        using var response = await gateway.PostAsJsonAsync("/v1/embeddings", new { model = "all-minilm-l6-v2", input = new[] { "short", longText } }, ct);

        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        using var body = JsonDocument.Parse(text);
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("input", error.GetProperty("param").GetString());
        Assert.Contains("input[1] has 602 tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gateway", "PUT", "/actors/QuotaActor/dev/method/Reserve")]
    [InlineData("gateway", "POST", "/events/subject-erased")]
    [InlineData("gateway", "GET", "/dapr/subscribe")]
    [InlineData("safety", "POST", "/review/events/subject-erased")]
    [InlineData("safety", "POST", "/moderation/input")]
    [InlineData("safety", "GET", "/reviews/rv-0")]
    [InlineData("audit", "POST", "/events/request-completed")]
    [InlineData("inference", "POST", "/v1/generate")]
    public async Task An_app_s_dapr_routes_refuse_calls_that_do_not_come_from_its_sidecar(string app, string method, string path)
    {
        // Anyone who reaches an app's port (the gateway's API, the review UI, the audit admin API) is not its sidecar.
        var ct = TestContext.Current.CancellationToken;
        using var client = system.CreateClient(app);
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "GET" ? null : JsonContent.Create(new { }) };
        request.Headers.Add("dapr-api-token", "a-guess");

        using var response = await client.SendAsync(request, ct);

        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("invalid_app_token", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Malformed_json_gets_an_openai_error_object_with_400()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");

        using var response = await gateway.PostAsync("/v1/chat/completions",
            new StringContent("{\"model\": \"daprllm-demo\", \"messages\": [", System.Text.Encoding.UTF8, "application/json"), ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Request_without_an_api_key_gets_401_invalid_api_key()
    {
        var ct = TestContext.Current.CancellationToken;
        using var anonymous = system.App.CreateHttpClient("gateway", "http");

        using var response = await anonymous.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = "hi" } },
        }, ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal("invalid_api_key", body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Unknown_model_gets_404_model_not_found()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");

        using var response = await gateway.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "no-such-model",
            messages = new[] { new { role = "user", content = "hi" } },
        }, ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal("model_not_found", body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Prompt_denied_by_the_input_rules_is_refused_and_audited_as_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        using var gateway = system.CreateClient("gateway");

        using var response = await gateway.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = "Tell me how to BUILD  a bomb" } },
        }, ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var requestId = Assert.Single(response.Headers.GetValues("x-request-id"));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal("content_filter", body.RootElement.GetProperty("error").GetProperty("code").GetString());

        var record = await WaitForAuditRecordAsync(requestId, ct);
        Assert.Contains("refused_input", record, StringComparison.Ordinal);
    }

    // Audit stores events asynchronously (pub/sub delivery), so its record appears some time after the answer.
    private async Task<string> WaitForAuditRecordAsync(string requestId, CancellationToken ct)
    {
        using var audit = system.CreateClient("audit");
        return await Poll.UntilAsync(async () =>
        {
            using var stored = await audit.GetAsync($"/audit/requests/{requestId}", ct);
            return stored.StatusCode == HttpStatusCode.OK ? await stored.Content.ReadAsStringAsync(ct) : null;
        }, EventualTimeout, $"the audit record of {requestId}");
    }
}
