using System.Net;
using System.Text;
using System.Text.Json;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>The OpenAI-compatible surface: shapes, streaming, errors, versions, embeddings, moderations, models, docs.</summary>
public sealed class OpenAiApiTests(PolicyGateway gateway) : IClassFixture<PolicyGateway>
{
    [Fact]
    public async Task Chat_completion_has_openai_shape_usage_request_id_and_rate_limit_headers()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = Assert.Single(response.Headers.GetValues("x-request-id"));
        foreach (var h in new[] { "limit", "remaining", "reset" })
        {
            Assert.True(response.Headers.Contains($"x-ratelimit-{h}-requests"));
            Assert.True(response.Headers.Contains($"x-ratelimit-{h}-tokens"));
        }

        var root = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
        Assert.Equal(id, root.GetProperty("id").GetString());
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        var choice = Assert.Single(root.GetProperty("choices").EnumerateArray());
        Assert.Equal("Hello from inference-eu about the sea", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(FakeBackend.PromptTokens + 6, root.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Streamed_chat_sends_chunks_then_usage_then_done()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var response = await client.PostAsJsonAsync("/v2/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, stream = true, stream_options = new { include_usage = true } }, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await ReadEventsAsync(response, ct);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta")).Where(d => d.TryGetProperty("content", out _)).Select(d => d.GetProperty("content").GetString()));
        Assert.Equal("Hello from inference-eu about the sea", text);
        Assert.Contains(chunks, c => c.GetProperty("choices").GetArrayLength() > 0 && c.GetProperty("choices")[0].GetProperty("finish_reason").GetString() == "stop");
        var usage = chunks[^1].GetProperty("usage");
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(6, usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task A_stream_the_backend_ends_before_its_end_event_is_reported_as_interrupted_not_finished()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        gateway.Backend.CloseStreamsAfterTokens = 2;
        try
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions",
                new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, stream = true }, ct);
            var events = await ReadEventsAsync(response, ct);

            Assert.Equal("[DONE]", events[^1]);
            var parsed = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
            Assert.Contains(parsed, e => e.TryGetProperty("error", out var error) && error.GetProperty("code").GetString() == "upstream_error");
            Assert.DoesNotContain(parsed, c => c.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0
                && choices[0].GetProperty("finish_reason").ValueKind == JsonValueKind.String);
        }
        finally
        {
            gateway.Backend.CloseStreamsAfterTokens = -1;
        }
    }

    [Theory]
    [InlineData("{\"model\": \"daprllm-demo\", \"messages\": [", "invalid_json")]
    [InlineData("[1,2,3]", "invalid_json")]
    [InlineData("{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":\"ten\"}", "invalid_type")]
    [InlineData("{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temprature\":0.5}", "unknown_parameter")]
    [InlineData("{\"model\":\"daprllm-demo\"}", "missing_required_parameter")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "missing_required_parameter")]
    [InlineData("{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", "invalid_value")]
    [InlineData("{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1000000000}", "invalid_value")]
    [InlineData("{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":7}", "invalid_value")]
    [InlineData("{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":50}", "invalid_value")]
    [InlineData("{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":{\"x\":1}}]}", "invalid_type")]
    [InlineData("{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"moderation\":false}", "invalid_value")]
    public async Task Bad_input_gets_a_400_openai_error_and_no_internals(string body, string code)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), ct);
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, code, ct);
    }

    [Theory]
    [InlineData("\"logprobs\":true")]
    [InlineData("\"logprobs\":true,\"top_logprobs\":3")]
    [InlineData("\"response_format\":{\"type\":\"json_object\"}")]
    [InlineData("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{}}}")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"required\"")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}")]
    [InlineData("\"modalities\":[\"text\",\"audio\"]")]
    public async Task A_parameter_value_the_models_cannot_honour_gets_400_unsupported_value(string parameters)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var body = "{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]," + parameters + "}";
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), ct);
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_value", ct);
        var param = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error").GetProperty("param").GetString();
        Assert.Contains($"\"{param}\"", parameters, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://127.0.0.1/hook")]
    [InlineData("https://localhost:8443/hook")]
    [InlineData("https://169.254.169.254/latest/meta-data")]
    [InlineData("https://[fd00::1]/hook")]
    public async Task A_review_webhook_on_an_internal_address_is_refused_up_front(string url)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(Chat("hi")) };
        request.Headers.Add("X-Review-Webhook", url);
        using var response = await client.SendAsync(request, ct);
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_value", ct);
    }

    [Fact]
    public async Task Default_values_of_the_parameters_clients_always_send_are_accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var body = "{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"logprobs\":false,\"top_logprobs\":null,"
            + "\"response_format\":{\"type\":\"text\"},\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"auto\","
            + "\"modalities\":[\"text\"],\"frequency_penalty\":0,\"presence_penalty\":0,\"logit_bias\":{}}";
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_developer_message_reaches_the_model_as_a_system_message_and_tool_results_are_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var before = gateway.Backend.GenerateRoles.Count;
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "developer", content = "Answer briefly." }, new { role = "user", content = "hi developer" } },
        }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(gateway.Backend.GenerateRoles.Skip(before), roles => roles.SequenceEqual(["system", "user"]));

        using var tool = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo",
            messages = new[] { new { role = "user", content = "weather?" }, new { role = "tool", content = "sunny" } },
        }, ct);
        await AssertErrorAsync(tool, HttpStatusCode.BadRequest, "unsupported_value", ct);
        var error = JsonDocument.Parse(await tool.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");
        Assert.Equal("messages[1].role", error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("\"echo\":true", "unsupported_value")]
    [InlineData("\"best_of\":3", "unsupported_value")]
    [InlineData("\"suffix\":\" the end\"", "unsupported_value")]
    [InlineData("\"logprobs\":0", "unsupported_value")]
    [InlineData("\"stream_options\":{\"include_usage\":true}", "invalid_value")]
    [InlineData("\"echo\":false,\"best_of\":1,\"suffix\":null,\"logprobs\":null", null)]
    public async Task Text_completion_parameters_that_cannot_be_honoured_are_refused(string parameters, string? code)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var body = "{\"model\":\"daprllm-demo\",\"prompt\":\"hi\",\"max_tokens\":3," + parameters + "}";
        using var response = await client.PostAsync("/v1/completions", new StringContent(body, Encoding.UTF8, "application/json"), ct);
        if (code is null)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            await AssertErrorAsync(response, HttpStatusCode.BadRequest, code, ct);
        }
    }

    [Theory]
    [InlineData("/v1/chat/completions", false)]
    [InlineData("/v1/chat/completions", true)]
    [InlineData("/v1/completions", false)]
    public async Task Penalties_and_logit_bias_reach_the_inference_app(string path, bool stream)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var marker = "controls " + Guid.NewGuid();
        object body = path.EndsWith("chat/completions", StringComparison.Ordinal)
            ? new { model = "daprllm-demo", messages = new[] { new { role = "user", content = marker } }, max_tokens = 4, stream,
                presence_penalty = 0.5, frequency_penalty = -1.25, logit_bias = new Dictionary<string, int> { ["42"] = -100, ["7"] = 5 } }
            : new { model = "daprllm-demo", prompt = marker, max_tokens = 4, presence_penalty = 0.5, frequency_penalty = -1.25,
                logit_bias = new Dictionary<string, int> { ["42"] = -100, ["7"] = 5 } };

        using var response = await client.PostAsJsonAsync(path, body, ct);
        await response.Content.ReadAsStringAsync(ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var call = gateway.Backend.GenerateCalls.Single(c => c.Messages[^1].Content == marker);
        Assert.Equal(0.5, call.PresencePenalty);
        Assert.Equal(-1.25, call.FrequencyPenalty);
        Assert.Equal(new Dictionary<string, double> { ["42"] = -100, ["7"] = 5 }, call.LogitBias!.ToDictionary());
    }

    [Fact]
    public async Task Requests_without_controls_send_none_to_the_inference_app()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var marker = "no controls " + Guid.NewGuid();
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo", messages = new[] { new { role = "user", content = marker } }, max_tokens = 4,
            presence_penalty = 0, frequency_penalty = 0, logit_bias = new Dictionary<string, int>(),
        }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var call = gateway.Backend.GenerateCalls.Single(c => c.Messages[^1].Content == marker);
        Assert.Equal((null, null, null), (call.PresencePenalty, call.FrequencyPenalty, call.LogitBias));
    }

    [Theory]
    [InlineData("\"presence_penalty\":2.5", "presence_penalty", "invalid_value")]
    [InlineData("\"frequency_penalty\":-2.01", "frequency_penalty", "invalid_value")]
    [InlineData("\"logit_bias\":{\"abc\":1}", "logit_bias", "invalid_value")]
    [InlineData("\"logit_bias\":{\"-3\":1}", "logit_bias", "invalid_value")]
    [InlineData("\"logit_bias\":{\"5\":150}", "logit_bias", "invalid_value")]
    public async Task Out_of_range_penalties_and_logit_bias_are_refused(string member, string param, string code)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var body = "{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3," + member + "}";
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), ct);
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, code, ct);
        var error = (await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct)).RootElement.GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Embedding_dimensions_other_than_the_model_s_are_refused_not_ignored()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();

        // The fake embedding model returns 4 numbers per input.
        using var same = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = "abcd", dimensions = 4 }, ct);
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        Assert.Equal(4, (await same.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("data")[0].GetProperty("embedding").GetArrayLength());

        // The model's length is known now: another one is refused before any input reaches the model.
        var calls = EmbeddingCalls();
        using var shorter = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = "abcd", dimensions = 2 }, ct);
        await AssertErrorAsync(shorter, HttpStatusCode.BadRequest, "unsupported_value", ct);
        Assert.Equal(calls, EmbeddingCalls());

        using var zero = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = "abcd", dimensions = 0 }, ct);
        await AssertErrorAsync(zero, HttpStatusCode.BadRequest, "invalid_value", ct);
    }

    [Theory]
    [InlineData("[1, 2, 3]")]
    [InlineData("[[1, 2], [3]]")]
    public async Task Token_id_embedding_inputs_are_refused_with_what_to_send_instead(string input)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var calls = EmbeddingCalls();

        using var response = await client.PostAsync("/v1/embeddings",
            new StringContent($$"""{"model":"daprllm-embed","input":{{input}}}""", Encoding.UTF8, "application/json"), ct);

        var message = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_value", ct);
        Assert.Contains("check_embedding_ctx_length=False", message, StringComparison.Ordinal);
        Assert.Equal(calls, EmbeddingCalls());
    }

    [Fact]
    public async Task An_over_long_embedding_input_is_named_by_its_place_in_the_request_not_in_the_inference_call()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        // 300 inputs go to inference in calls of 256 and 44: input 260 is the second call's input 4.
        var inputs = Enumerable.Range(0, 300).Select(i => i == 260 ? FakeBackend.TooLongInput : "x").ToArray();

        using var response = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = inputs }, ct);

        var message = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "context_length_exceeded", ct);
        Assert.Contains("input[260]", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Moderations_accept_openai_s_model_names_and_safety_s_own_and_refuse_others_and_unknown_parameters()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        foreach (var model in new[] { "omni-moderation-latest", "omni-moderation-2024-09-26", "text-moderation-latest", "text-moderation-stable", "daprllm-safety-ngram" })
        {
            using var accepted = await client.PostAsJsonAsync("/v1/moderations", new { model, input = "fine" }, ct);
            Assert.True(accepted.StatusCode == HttpStatusCode.OK, $"{model}: {await accepted.Content.ReadAsStringAsync(ct)}");
        }

        using var omitted = await client.PostAsJsonAsync("/v1/moderations", new { input = "fine" }, ct);
        Assert.Equal(HttpStatusCode.OK, omitted.StatusCode);

        var before = gateway.Backend.CallsTo("safety v1/moderations");
        using var unknownModel = await client.PostAsJsonAsync("/v1/moderations", new { model = "gpt-4o", input = "fine" }, ct);
        await AssertErrorAsync(unknownModel, HttpStatusCode.NotFound, "model_not_found", ct);
        using var unknownParameter = await client.PostAsJsonAsync("/v1/moderations", new { input = "fine", threshold = 0.5 }, ct);
        var message = await AssertErrorAsync(unknownParameter, HttpStatusCode.BadRequest, "unknown_parameter", ct);
        Assert.Contains("threshold", message, StringComparison.Ordinal);
        Assert.Equal(before, gateway.Backend.CallsTo("safety v1/moderations"));
    }

    [Fact]
    public async Task An_upstream_timeout_moves_embeddings_to_the_next_region_and_answers_moderations_504()
    {
        var ct = TestContext.Current.CancellationToken;
        var (_, key) = await gateway.CreateTenantAsync(home: "eu", regions: ["eu", "us"], ct: ct);
        using var client = gateway.Client(key);
        gateway.Backend.TimingOut["inference-eu v1/embeddings"] = true;
        gateway.Backend.TimingOut["safety v1/moderations"] = true;
        try
        {
            var us = gateway.Backend.CallsTo("inference-us v1/embeddings");
            using var embedded = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = "abcd" }, ct);
            Assert.True(embedded.StatusCode == HttpStatusCode.OK, await embedded.Content.ReadAsStringAsync(ct));
            Assert.Equal(us + 1, gateway.Backend.CallsTo("inference-us v1/embeddings"));

            using var moderated = await client.PostAsJsonAsync("/v1/moderations", new { input = "fine" }, ct);
            await AssertErrorAsync(moderated, HttpStatusCode.GatewayTimeout, "upstream_timeout", ct);
        }
        finally
        {
            gateway.Backend.TimingOut.Clear();
        }
    }

    [Fact]
    public async Task Invalid_utf8_and_oversized_bodies_get_400()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var bytes = Encoding.UTF8.GetBytes("{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"X\"}]}");
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0xC3; // a lone lead byte: not UTF-8
        using (var bad = await client.PostAsync("/v1/chat/completions", new ByteArrayContent(bytes) { Headers = { ContentType = new("application/json") } }, ct))
        {
            await AssertErrorAsync(bad, HttpStatusCode.BadRequest, "invalid_json", ct);
        }

        var huge = JsonSerializer.Serialize(new { model = "daprllm-demo", messages = new[] { new { role = "user", content = new string('a', 10_000) } } });
        using var big = await client.PostAsync("/v1/chat/completions", new StringContent(huge, Encoding.UTF8, "application/json"), ct);
        await AssertErrorAsync(big, HttpStatusCode.BadRequest, "request_too_large", ct);
    }

    [Fact]
    public async Task A_body_kestrel_cannot_read_and_unknown_routes_get_openai_errors_not_a_stack_trace()
    {
        var ct = TestContext.Current.CancellationToken;

        // A chunked body with a malformed chunk size: Kestrel throws while the handler reads it. The gateway runs in
        // Development here, where an unmapped exception would show the developer exception page (a stack trace).
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, gateway.Node.Port, ct);
            var stream = tcp.GetStream();
            var head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + gateway.DevKey
                + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var raw = await reader.ReadToEndAsync(ct);
            Assert.StartsWith("HTTP/1.1 400", raw, StringComparison.Ordinal);
            Assert.Contains("\"code\":\"invalid_request\"", raw, StringComparison.Ordinal);
            Assert.Contains("x-request-id", raw, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Exception", raw, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", raw, StringComparison.Ordinal);
        }

        using var client = gateway.Client();
        using var unknown = await client.GetAsync("/v1/no-such-route", ct);
        await AssertErrorAsync(unknown, HttpStatusCode.NotFound, "unknown_url", ct, requestId: false);
        using var wrongMethod = await client.GetAsync("/v1/chat/completions", ct);
        await AssertErrorAsync(wrongMethod, HttpStatusCode.MethodNotAllowed, "method_not_allowed", ct, requestId: false);
        using var form = await client.PostAsync("/v1/chat/completions", new StringContent("model=daprllm-demo", Encoding.UTF8, "application/x-www-form-urlencoded"), ct);
        await AssertErrorAsync(form, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type", ct, requestId: false);
        using var moderationText = await client.PostAsync("/v1/moderations", new StringContent("input=hello", Encoding.UTF8, "text/plain"), ct);
        await AssertErrorAsync(moderationText, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type", ct, requestId: false);
        using var repeated = await client.PostAsync("/v1/moderations", new StringContent("""{"input":"a","input":"b"}""", Encoding.UTF8, "application/json"), ct);
        await AssertErrorAsync(repeated, HttpStatusCode.BadRequest, "invalid_json", ct, requestId: false);
        using var adminForm = await client.PostAsync("/admin/tenants", new StringContent("id=x", Encoding.UTF8, "application/x-www-form-urlencoded"), ct);
        await AssertErrorAsync(adminForm, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type", ct, requestId: false);
    }

    [Fact]
    public async Task Unknown_or_not_allowed_model_gets_404_model_not_found()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "no-such-model", messages = new[] { new { role = "user", content = "hi" } } }, ct);
        await AssertErrorAsync(response, HttpStatusCode.NotFound, "model_not_found", ct);
        using var get = await client.GetAsync("/v1/models/no-such-model", ct);
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "model_not_found", ct);

        // A served model outside the tenant's allowed models is as unknown to that tenant, for chat and for /models.
        using var admin = gateway.Admin();
        var id = $"m-{Guid.NewGuid():N}"[..20];
        using (var created = await admin.PostAsJsonAsync("/admin/tenants", new { id, tier = "pro", allowedModels = new[] { "daprllm-demo" } }, ct))
        {
            created.EnsureSuccessStatusCode();
        }

        using var keyResponse = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "models" }, ct);
        using var limited = gateway.Client((await keyResponse.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString());
        using var large = await limited.PostAsJsonAsync("/v1/chat/completions", new { model = "daprllm-large", messages = new[] { new { role = "user", content = "hi" } } }, ct);
        await AssertErrorAsync(large, HttpStatusCode.NotFound, "model_not_found", ct);
        using var demo = await limited.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct);
        Assert.Equal(HttpStatusCode.OK, demo.StatusCode);
        var listed = (await limited.GetFromJsonAsync<JsonElement>("/v1/models", ct)).GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString());
        Assert.Equal(["daprllm-demo"], listed);
    }

    [Fact]
    public async Task Auto_routes_a_small_request_to_the_small_model_and_a_big_one_to_the_large_model()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(home: "us", regions: ["us"], ct: ct));
        Assert.Equal("daprllm-demo", await ModelOfAsync(8));
        Assert.Equal("daprllm-large", await ModelOfAsync(4_000)); // prompt + max_tokens past Chat:AutoTokensPerStep (2,048)

        async Task<string?> ModelOfAsync(int maxTokens)
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions",
                new { model = "auto", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = maxTokens }, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("model").GetString();
        }
    }

    [Fact]
    public async Task A_tenant_out_of_daily_tokens_gets_429_insufficient_quota_with_retry_after()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = gateway.Admin();
        var id = $"d-{Guid.NewGuid():N}"[..20];
        // A day's 60 tokens: each request reserves its prompt estimate + 16 and is charged what it used, so a few fit.
        using (var created = await admin.PostAsJsonAsync("/admin/tenants", new { id, tier = "pro", limits = new { tokensPerDay = 60 } }, ct))
        {
            created.EnsureSuccessStatusCode();
        }

        using var keyResponse = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "daily" }, ct);
        using var client = gateway.Client((await keyResponse.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString());
        HttpResponseMessage response;
        var served = 0;
        while ((response = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct)).StatusCode == HttpStatusCode.OK && served < 20)
        {
            response.Dispose();
            served++;
        }

        using var _ = response;
        Assert.InRange(served, 1, 19);
        await AssertErrorAsync(response, HttpStatusCode.TooManyRequests, "insufficient_quota", ct);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.True(response.Headers.Contains("x-ratelimit-remaining-tokens"));
    }

    [Fact]
    public async Task Models_are_listed_in_v1_and_v2_and_v1_carries_deprecation_headers()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var v1 = await client.GetAsync("/v1/models", ct);
        using var v2 = await client.GetAsync("/v2/models", ct);
        var ids = (await v1.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("daprllm-demo", ids);
        Assert.Contains("daprllm-embed", ids);
        Assert.Equal(await v1.Content.ReadAsStringAsync(ct), await v2.Content.ReadAsStringAsync(ct));
        Assert.StartsWith("@", Assert.Single(v1.Headers.GetValues("Deprecation")));
        Assert.Contains("2027", Assert.Single(v1.Headers.GetValues("Sunset")));
        Assert.False(v2.Headers.Contains("Deprecation"));

        using var one = await client.GetAsync("/v1/models/daprllm-demo", ct);
        Assert.Equal("model", (await one.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("object").GetString());

        // An id with a slash is retrieved as written and with the slash escaped, as SDKs send it.
        Assert.Contains("org/daprllm-slashed", ids);
        foreach (var path in new[] { "/v1/models/org/daprllm-slashed", "/v1/models/org%2Fdaprllm-slashed" })
        {
            using var slashed = await client.GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.OK, slashed.StatusCode);
            Assert.Equal("org/daprllm-slashed", (await slashed.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString());
        }

        using var unknown = await client.GetAsync("/v1/models/org/nothing", ct);
        await AssertErrorAsync(unknown, HttpStatusCode.NotFound, "model_not_found", ct);
    }

    [Fact]
    public async Task A_retired_version_answers_410_naming_the_newest_and_a_configured_new_version_is_served_and_documented()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var retired = await client.PostAsJsonAsync("/v0/chat/completions", new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } } }, ct);
        Assert.Equal(HttpStatusCode.Gone, retired.StatusCode);
        var error = (await retired.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
        Assert.Equal("api_version_retired", error.GetProperty("code").GetString());
        Assert.Equal("API version v0 was retired on 2026-06-30. Use /v3 instead.", error.GetProperty("message").GetString());

        using var v3 = await client.GetAsync("/v3/models", ct);
        Assert.Equal(HttpStatusCode.OK, v3.StatusCode);
        Assert.Contains("/v3/chat/completions", await client.GetStringAsync("/openapi/v3.json", ct));
        using var noDocument = await client.GetAsync("/openapi/v0.json", ct);
        Assert.Equal(HttpStatusCode.NotFound, noDocument.StatusCode);
    }

    [Fact]
    public async Task A_completion_prompt_in_a_one_element_array_is_served_and_other_array_forms_say_what_to_send()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var single = await client.PostAsJsonAsync("/v1/completions", new { model = "daprllm-demo", prompt = new[] { "hi" }, max_tokens = 3 }, ct);
        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        Assert.Equal("Hello from inference-eu", (await single.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("choices")[0].GetProperty("text").GetString());

        (object Prompt, string Code, string Words)[] refused =
        [
            (new[] { "one", "two" }, "unsupported_value", "send one request per prompt"),
            (new[] { 15496, 995 }, "unsupported_value", "send the prompt as text"),
            (new[] { new[] { 15496 } }, "unsupported_value", "send the prompt as text"),
            ("", "invalid_value", "must not be empty"),
            (new { text = "hi" }, "invalid_type", "a string or an array of one string"),
        ];
        foreach (var (prompt, code, words) in refused)
        {
            using var response = await client.PostAsJsonAsync("/v1/completions", new { model = "daprllm-demo", prompt, max_tokens = 3 }, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.Equal("prompt", error.GetProperty("param").GetString());
            Assert.Contains(words, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Up_to_2048_embedding_inputs_are_sent_to_inference_in_calls_it_accepts_and_come_back_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        // Lengths 1, 2, 3, 1, ... (the fake's first component is the input's length; 256 is not a multiple of 3, so
        // calls answered out of order would shift the pattern). Short texts keep the body under this gateway's 4 KB.
        var inputs = Enumerable.Range(0, 600).Select(i => new string('x', i % 3 + 1)).ToArray();
        gateway.Backend.EmbeddingCallSizes.Clear();

        using var response = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = inputs }, ct);

        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var data = JsonDocument.Parse(text).RootElement.GetProperty("data");
        Assert.Equal(600, data.GetArrayLength());
        for (var i = 0; i < 600; i++)
        {
            Assert.Equal(i, data[i].GetProperty("index").GetInt32());
            Assert.Equal(i % 3 + 1f, data[i].GetProperty("embedding")[0].GetSingle());
        }

        Assert.Equal([256, 256, 88], gateway.Backend.EmbeddingCallSizes.ToArray());
    }

    [Fact]
    public async Task Text_completions_embeddings_and_moderations_answer_in_openai_shape()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var completion = await client.PostAsJsonAsync("/v1/completions", new { model = "daprllm-demo", prompt = "hi", max_tokens = 3 }, ct);
        var c = await completion.Content.ReadFromJsonAsync<JsonElement>(ct);
        Assert.Equal("text_completion", c.GetProperty("object").GetString());
        Assert.Equal("Hello from inference-eu", c.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("length", c.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        using var floats = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = new[] { "abcd", "ef" } }, ct);
        var f = await floats.Content.ReadFromJsonAsync<JsonElement>(ct);
        Assert.Equal(2, f.GetProperty("data").GetArrayLength());
        Assert.Equal(4f, f.GetProperty("data")[0].GetProperty("embedding")[0].GetSingle());

        using var b64 = await client.PostAsJsonAsync("/v1/embeddings", new { model = "daprllm-embed", input = "abcd", encoding_format = "base64" }, ct);
        var raw = Convert.FromBase64String((await b64.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(4f, BitConverter.ToSingle(raw, 0));

        using var moderation = await client.PostAsJsonAsync("/v1/moderations", new { input = new[] { "fine", "forbidden" } }, ct);
        Assert.Equal(HttpStatusCode.OK, moderation.StatusCode);
        var results = (await moderation.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("results");
        Assert.False(results[0].GetProperty("flagged").GetBoolean());
        Assert.True(results[1].GetProperty("flagged").GetBoolean());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("a-guess")]
    public async Task Actor_and_event_routes_answer_only_the_sidecar_s_app_token(string? token)
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Node.BaseAddress) };
        foreach (var (method, path) in new[] { (HttpMethod.Put, $"/actors/{DaprLlm.Gateway.Quotas.QuotaService.ActorType}/key:x/method/Reserve"), (HttpMethod.Post, "/events/subject-erased") })
        {
            using var request = new HttpRequestMessage(method, path) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
            if (token is not null)
            {
                request.Headers.Add("dapr-api-token", token);
            }

            using var refused = await http.SendAsync(request, ct);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("invalid_app_token", await refused.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

            // The sidecar's token passes the gate (what the route then answers is its own business).
            using var again = new HttpRequestMessage(method, path) { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
            again.Headers.Add("dapr-api-token", gateway.Environment.AppToken);
            using var passed = await http.SendAsync(again, ct);
            Assert.DoesNotContain("invalid_app_token", await passed.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Moderations_are_checked_under_the_caller_s_tenant()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenantId, key) = await gateway.CreateTenantAsync(ct: ct);
        using var client = gateway.Client(key);

        using var moderation = await client.PostAsJsonAsync("/v1/moderations", new { input = "fine" }, ct);

        Assert.Equal(HttpStatusCode.OK, moderation.StatusCode);
        Assert.Contains(tenantId, gateway.Backend.ModerationTenants);
    }

    [Fact]
    public async Task Moderations_send_safety_a_check_id_that_a_retry_with_the_same_idempotency_key_repeats()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        var key = Guid.NewGuid().ToString("N");
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/moderations") { Content = JsonContent.Create(new { input = "fine" }) };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await client.SendAsync(request, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(2, gateway.Backend.ModerationCheckIds.Count(id => id == $"idem-{key}"));

        // Without a key (or with one safety could not use), the gateway's own request id names the check.
        using var plain = new HttpRequestMessage(HttpMethod.Post, "/v1/moderations") { Content = JsonContent.Create(new { input = "fine" }) };
        plain.Headers.Add("Idempotency-Key", "not valid!");
        using var answered = await client.SendAsync(plain, ct);
        Assert.Contains(Assert.Single(answered.Headers.GetValues("x-request-id")), gateway.Backend.ModerationCheckIds);
    }

    [Fact]
    public async Task A_prompt_sent_to_review_is_refused_with_its_review_id_and_status_url()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat("this needs-review please"), ct);
        var message = await AssertErrorAsync(response, HttpStatusCode.BadRequest, "content_under_review", ct);
        Assert.Contains("rev-42", message, StringComparison.Ordinal);
        Assert.Contains("/v1/reviews/rev-42", message, StringComparison.Ordinal);

        using var status = await client.GetAsync("/v1/reviews/rev-42", ct);
        var view = await status.Content.ReadFromJsonAsync<JsonElement>(ct);
        Assert.Equal("pending", view.GetProperty("status").GetString());
        Assert.Equal("review", view.GetProperty("object").GetString());
        Assert.Equal(response.Headers.GetValues("x-request-id").Single(), view.GetProperty("request_id").GetString());
        using var missing = await client.GetAsync("/v1/reviews/nope", ct);
        await AssertErrorAsync(missing, HttpStatusCode.NotFound, "not_found", ct);
    }

    [Fact]
    public async Task A_review_s_status_is_shown_only_to_its_tenant_and_never_names_the_reviewer()
    {
        var ct = TestContext.Current.CancellationToken;
        using var owner = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        using var held = await owner.PostAsJsonAsync("/v1/chat/completions", Chat("this needs-review-tenanta please"), ct);
        await AssertErrorAsync(held, HttpStatusCode.BadRequest, "content_under_review", ct);

        using var mine = await owner.GetAsync("/v1/reviews/rev-tenanta", ct);
        Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
        var text = await mine.Content.ReadAsStringAsync(ct);
        Assert.DoesNotContain("reviewer-alice", text, StringComparison.Ordinal);
        Assert.DoesNotContain("violence", text, StringComparison.Ordinal);

        // Another tenant's key cannot tell the review exists.
        using var other = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        using var theirs = await other.GetAsync("/v1/reviews/rev-tenanta", ct);
        Assert.Contains("was not found", await AssertErrorAsync(theirs, HttpStatusCode.NotFound, "not_found", ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Window_policy_stops_a_stream_with_content_filter_and_an_error_event_before_the_blocked_text()
    {
        var (text, finish, hasError, _) = await StreamForbiddenAsync("window");
        Assert.Equal("content_filter", finish);
        Assert.True(hasError);
        Assert.DoesNotContain("forbidden", text, StringComparison.Ordinal);
        Assert.StartsWith("one two", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Window_policy_never_releases_the_first_half_of_a_blocked_phrase()
    {
        // "one two three four five ...": "four five" straddles the first 16-char window ("one two three four").
        gateway.Backend.BlockedOutputWords["four five"] = true;
        try
        {
            var (text, finish, hasError, _) = await StreamForbiddenAsync("window");
            Assert.Equal("content_filter", finish);
            Assert.True(hasError);
            Assert.DoesNotContain("four", text, StringComparison.Ordinal);
        }
        finally
        {
            gateway.Backend.BlockedOutputWords.TryRemove("four five", out _);
        }
    }

    [Fact]
    public async Task Buffer_policy_releases_nothing_of_a_blocked_answer()
    {
        var (text, finish, _, _) = await StreamForbiddenAsync("buffer");
        Assert.Equal("content_filter", finish);
        Assert.Equal("", text);
    }

    [Fact]
    public async Task Async_policy_releases_at_once_and_flags_afterwards()
    {
        var (text, finish, hasError, requestId) = await StreamForbiddenAsync("async");
        Assert.Equal("stop", finish);
        Assert.False(hasError);
        Assert.Contains("forbidden", text, StringComparison.Ordinal);

        // Checked after release all the same: the request is flagged in its audit event, not silently completed.
        var completed = await AuditStreams.WaitForAsync(gateway.Environment.Redis, DaprLlm.Contracts.Topics.RequestCompleted, requestId);
        Assert.Equal("filtered_output", completed.GetProperty("outcome").GetString());
        Assert.NotEqual("allow", completed.GetProperty("outputDecision").GetString());
    }

    [Theory]
    [InlineData("/v1/chat/completions", "{\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hello \\ud83d\"}]}")]
    [InlineData("/v1/completions", "{\"model\":\"daprllm-demo\",\"prompt\":\"\\ude00 hello\"}")]
    [InlineData("/v1/embeddings", "{\"model\":\"daprllm-embed\",\"input\":\"hello \\ud83d\"}")]
    [InlineData("/v1/moderations", "{\"input\":\"hello \\ud83d\\u0041\"}")]
    public async Task A_lone_surrogate_escape_is_a_400_on_every_route_and_an_escaped_pair_is_text(string path, string body)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client();
        using var refused = await client.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"), ct);
        await AssertErrorAsync(refused, HttpStatusCode.BadRequest, "invalid_json", ct);

        // The same text with the surrogate's pair (an escaped emoji), and an escaped backslash before "ud83d", are text.
        var fixedBody = body.Replace("\\ud83d", "\\ud83d\\ude00", StringComparison.Ordinal).Replace("\\ude00 hello", "\\\\ude00 hello", StringComparison.Ordinal);
        using var served = await client.PostAsync(path, new StringContent(fixedBody, System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.True(served.StatusCode == HttpStatusCode.OK, $"{path}: {served.StatusCode} {await served.Content.ReadAsStringAsync(ct)}");
    }

    [Fact]
    public async Task A_window_in_the_review_band_stops_the_stream_without_opening_a_review_and_a_held_whole_answer_says_under_review()
    {
        var ct = TestContext.Current.CancellationToken;
        foreach (var (policy, code, opensReview) in new[] { ("window", "content_filter", false), ("buffer", "content_under_review", true) })
        {
            using var client = gateway.Client(await gateway.CreateTenantKeyAsync(policy: policy, ct: ct));
            var tag = Guid.NewGuid().ToString("N")[..12];
            using var response = await client.PostAsJsonAsync("/v1/chat/completions",
                new { model = "daprllm-demo", messages = new[] { new { role = "user", content = $"say doubtful-{tag}" } }, stream = true }, ct);
            var events = await ReadEventsAsync(response, ct);
            var error = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).Single(d => d.TryGetProperty("error", out _)).GetProperty("error");

            // A fragment cannot be released by a reviewer (a stream cannot wait), so windows go to the window check.
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.Equal(opensReview, gateway.Backend.OpenReviews.ContainsKey($"rev-{tag}"));
        }
    }

    [Fact]
    public async Task An_async_stream_whose_client_leaves_early_is_still_checked_and_flagged()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(policy: "async", ct: ct));
        gateway.Backend.HangAfterTokens = 11; // "one ... ten forbidden", then nothing until the client leaves
        string requestId;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "say forbidden" } }, stream = true }),
            };
            using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct))
            {
                requestId = Assert.Single(response.Headers.GetValues("x-request-id"));
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
                while (await reader.ReadLineAsync(ct) is { } line && !line.Contains("forbidden", StringComparison.Ordinal))
                {
                }
            }

            // The client is gone with the harmful text delivered: the audit event carries the output check's verdict.
            var completed = await AuditStreams.WaitForAsync(gateway.Environment.Redis, DaprLlm.Contracts.Topics.RequestCompleted, requestId);
            Assert.Equal("filtered_output", completed.GetProperty("outcome").GetString());
            Assert.Equal("block", completed.GetProperty("outputDecision").GetString());
        }
        finally
        {
            gateway.Backend.HangAfterTokens = -1;
        }
    }

    [Fact]
    public async Task An_async_stream_ends_normally_when_the_check_after_it_fails_and_the_audit_says_unchecked()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(policy: "async", ct: ct));
        gateway.Backend.FailOutputChecks = true;
        try
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions",
                new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, stream = true, stream_options = new { include_usage = true } }, ct);
            var events = await ReadEventsAsync(response, ct);
            Assert.Equal("[DONE]", events[^1]);
            var docs = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
            Assert.DoesNotContain(docs, d => d.TryGetProperty("error", out _));
            Assert.True(docs[^1].TryGetProperty("usage", out _));

            var completed = await AuditStreams.WaitForAsync(gateway.Environment.Redis, DaprLlm.Contracts.Topics.RequestCompleted,
                Assert.Single(response.Headers.GetValues("x-request-id")));
            Assert.Equal("completed", completed.GetProperty("outcome").GetString());
            Assert.Equal(JsonValueKind.Null, completed.GetProperty("outputDecision").ValueKind);
        }
        finally
        {
            gateway.Backend.FailOutputChecks = false;
        }
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/completions")]
    public async Task An_answer_whose_output_check_fails_is_not_charged_and_its_audit_event_says_so(string path)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        object request = path == "/v1/completions"
            ? new { model = "daprllm-demo", prompt = "hi", max_tokens = 16 }
            : new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 16 };
        async Task<(long Tokens, long Requests, string RequestId)> SendAsync()
        {
            using var response = await client.PostAsJsonAsync(path, request, ct);
            await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "service_unavailable", ct);
            return (long.Parse(Assert.Single(response.Headers.GetValues("x-ratelimit-remaining-tokens")), System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(Assert.Single(response.Headers.GetValues("x-ratelimit-remaining-requests")), System.Globalization.CultureInfo.InvariantCulture),
                Assert.Single(response.Headers.GetValues("x-request-id")));
        }

        gateway.Backend.FailOutputChecks = true;
        try
        {
            // Two identical requests, both generated and then failed by the output check: had the first been charged its
            // tokens, the second would find fewer left after its own reservation. A pair that straddles the quota's minute
            // (the request count starts again) is sent again.
            for (var attempt = 1; ; attempt++)
            {
                var first = await SendAsync();
                var second = await SendAsync();
                if (second.Requests != first.Requests - 1 && attempt < 3)
                {
                    continue;
                }

                Assert.Equal(first.Tokens, second.Tokens);

                // The audit event names what was charged: nothing.
                var completed = await AuditStreams.WaitForAsync(gateway.Environment.Redis, DaprLlm.Contracts.Topics.RequestCompleted, first.RequestId);
                Assert.Equal("failed", completed.GetProperty("outcome").GetString());
                Assert.Equal((0, 0), (completed.GetProperty("promptTokens").GetInt32(), completed.GetProperty("completionTokens").GetInt32()));
                break;
            }
        }
        finally
        {
            gateway.Backend.FailOutputChecks = false;
        }
    }

    [Fact]
    public async Task A_client_that_leaves_during_the_output_check_still_gets_a_cancelled_request_completed_with_the_charged_tokens()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        var user = $"u-{Guid.NewGuid():N}";
        const string OutputCheck = "safety moderation/output";
        var before = gateway.Backend.ArrivalsAt(OutputCheck);
        gateway.Backend.Hanging[OutputCheck] = true;
        try
        {
            using var leave = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var sent = client.PostAsJsonAsync("/v1/chat/completions",
                new { model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 16, user }, leave.Token);
            await Deadline.WaitUntilAsync(() => gateway.Backend.ArrivalsAt(OutputCheck) > before, TimeSpan.FromSeconds(20), "the output check to start");
            await leave.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sent);
        }
        finally
        {
            gateway.Backend.Hanging.TryRemove(OutputCheck, out _);
        }

        // Generated but never delivered: recorded as cancelled, with the generated tokens the quota charged (as streams do).
        var completed = await AuditStreams.WaitForAsync(gateway.Environment.Redis, DaprLlm.Contracts.Topics.RequestCompleted, user);
        Assert.Equal(("failed", "cancelled"), (completed.GetProperty("outcome").GetString(), completed.GetProperty("finishReason").GetString()));
        Assert.Equal(FakeBackend.PromptTokens, completed.GetProperty("promptTokens").GetInt32());
        Assert.True(completed.GetProperty("completionTokens").GetInt32() > 0);
    }

    [Fact]
    public async Task A_text_completion_may_ask_for_a_stricter_stream_policy_too()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(policy: "window", ct: ct));
        using var stricter = await client.PostAsJsonAsync("/v1/completions",
            new { model = "daprllm-demo", prompt = "say forbidden", max_tokens = 32, stream = true, moderation = new { stream_policy = "buffer" } }, ct);
        Assert.Equal(HttpStatusCode.OK, stricter.StatusCode);
        var events = await ReadEventsAsync(stricter, ct);
        Assert.DoesNotContain(events, e => e.Contains("one two", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Contains("content_filter", StringComparison.Ordinal));

        using var looser = await client.PostAsJsonAsync("/v1/completions",
            new { model = "daprllm-demo", prompt = "hi", stream = true, moderation = new { stream_policy = "async" } }, ct);
        await AssertErrorAsync(looser, HttpStatusCode.BadRequest, "invalid_value", ct);
    }

    [Fact]
    public async Task A_request_may_ask_for_a_stricter_stream_policy_but_not_a_looser_one()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await gateway.CreateTenantKeyAsync(policy: "window", ct: ct);
        using var client = gateway.Client(key);
        using var looser = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo", messages = new[] { new { role = "user", content = "hi" } }, stream = true, moderation = new { stream_policy = "async" },
        }, ct);
        await AssertErrorAsync(looser, HttpStatusCode.BadRequest, "invalid_value", ct);

        using var stricter = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo", messages = new[] { new { role = "user", content = "say forbidden" } }, stream = true, moderation = new { stream_policy = "buffer" },
        }, ct);
        var events = await ReadEventsAsync(stricter, ct);
        Assert.DoesNotContain(events, e => e.Contains("one two", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_eu_tenant_never_reaches_the_us_replica_even_when_eu_is_down()
    {
        var ct = TestContext.Current.CancellationToken;
        var euOnly = await gateway.CreateTenantKeyAsync(home: "eu", regions: ["eu"], ct: ct);
        var euAndUs = await gateway.CreateTenantKeyAsync(home: "eu", regions: ["eu", "us"], ct: ct);
        gateway.Backend.Down["inference-eu"] = true;
        try
        {
            var usBefore = gateway.Backend.CallsTo("inference-us v1/generate");
            using var eu = gateway.Client(euOnly);
            using var refused = await eu.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct);
            var message = await AssertErrorAsync(refused, HttpStatusCode.ServiceUnavailable, "region_unavailable", ct);
            Assert.Contains("eu", message, StringComparison.Ordinal);
            Assert.Equal(usBefore, gateway.Backend.CallsTo("inference-us v1/generate"));

            // A tenant allowed in both regions fails over to its other region.
            using var both = gateway.Client(euAndUs);
            using var served = await both.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct);
            var content = (await served.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
            Assert.Equal("Hello from inference-us about the sea", content);
        }
        finally
        {
            gateway.Backend.Down.TryRemove("inference-eu", out _);
        }
    }

    [Fact]
    public async Task Models_come_from_the_catalog_of_the_tenants_regions_and_from_config_when_inference_is_down()
    {
        var ct = TestContext.Current.CancellationToken;
        using var euOnly = gateway.Client(await gateway.CreateTenantKeyAsync(home: "eu", regions: ["eu"], ct: ct));
        using var usOnly = gateway.Client(await gateway.CreateTenantKeyAsync(home: "us", regions: ["us"], ct: ct));
        Assert.Equal(["daprllm-demo", "daprllm-embed", "org/daprllm-slashed"], await IdsAsync(euOnly, ct));
        Assert.Equal(["daprllm-demo", "daprllm-large", "daprllm-embed", "org/daprllm-slashed"], await IdsAsync(usOnly, ct));
        using (var large = await euOnly.GetAsync("/v1/models/daprllm-large", ct))
        {
            await AssertErrorAsync(large, HttpStatusCode.NotFound, "model_not_found", ct);
        }

        // With inference down and no catalog known (as after a restart), the configured models are listed.
        gateway.Backend.Down["inference-eu"] = true;
        gateway.Backend.Down["inference-us"] = true;
        try
        {
            gateway.Node.Services.GetRequiredService<DaprLlm.Gateway.Models.ModelCatalog>().Forget();
            var configured = await IdsAsync(euOnly, ct);
            Assert.Contains("daprllm-large", configured); // configured, but not in the eu catalog
            Assert.Contains("daprllm-embed", configured);
            Assert.Equal(configured.Distinct().Count(), configured.Count);
        }
        finally
        {
            gateway.Backend.Down.Clear();
        }

        static async Task<List<string?>> IdsAsync(HttpClient client, CancellationToken ct) =>
            (await client.GetFromJsonAsync<JsonElement>("/v1/models", ct)).GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
    }

    [Fact]
    public async Task Text_completions_stream_text_completion_events_then_usage_then_done_and_are_moderated()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(policy: "window", ct: ct));
        using var response = await client.PostAsJsonAsync("/v1/completions",
            new { model = "daprllm-demo", prompt = "hi", max_tokens = 16, stream = true, stream_options = new { include_usage = true } }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await ReadEventsAsync(response, ct);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        var text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal("Hello from inference-eu about the sea", text);
        Assert.Equal("stop", chunks.Last(c => c.GetProperty("choices").GetArrayLength() > 0).GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(FakeBackend.PromptTokens + 6, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());

        // The window policy applies: a blocked answer stops with content_filter and never shows the blocked word.
        using var blocked = await client.PostAsJsonAsync("/v1/completions", new { model = "daprllm-demo", prompt = "say forbidden", max_tokens = 32, stream = true }, ct);
        var blockedEvents = await ReadEventsAsync(blocked, ct);
        Assert.DoesNotContain(blockedEvents, e => e.Contains("forbidden", StringComparison.Ordinal) && !e.Contains("\"error\"", StringComparison.Ordinal));
        Assert.Contains(blockedEvents, e => e.Contains("content_filter", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_model_backend_is_an_upstream_error_not_a_residency_error()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        gateway.Backend.FailingModels["daprllm-large"] = true;
        try
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions",
                new { model = "daprllm-large", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 8 }, ct);
            var message = await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "upstream_error", ct);
            Assert.Contains("daprllm-large", message, StringComparison.Ordinal);
            Assert.NotNull(response.Headers.RetryAfter);
        }
        finally
        {
            gateway.Backend.FailingModels.TryRemove("daprllm-large", out _);
        }
    }

    [Fact]
    public async Task An_overloaded_backend_is_shed_with_503_or_429_and_retry_after()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await gateway.CreateTenantKeyAsync(ct: ct);
        using var client = gateway.Client(key);
        gateway.Backend.Overloaded = true;
        try
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct);
            await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "service_unavailable", ct);
            Assert.Equal(TimeSpan.FromSeconds(3), response.Headers.RetryAfter?.Delta);

            // A backend that answers 429 (its queue is full) is passed on as 429 rate_limit_exceeded, not retried or queued.
            gateway.Backend.OverloadedStatus = 429;
            using var limited = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi"), ct);
            await AssertErrorAsync(limited, HttpStatusCode.TooManyRequests, "rate_limit_exceeded", ct);
            Assert.Equal(TimeSpan.FromSeconds(3), limited.Headers.RetryAfter?.Delta);
        }
        finally
        {
            gateway.Backend.Overloaded = false;
            gateway.Backend.OverloadedStatus = 503;
        }
    }

    [Fact]
    public async Task The_openapi_document_and_the_interactive_page_are_served_locally()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(key: null);
        var doc = await client.GetStringAsync("/openapi/v1.json", ct);
        Assert.Contains("/v1/chat/completions", doc, StringComparison.Ordinal);
        var v2 = await client.GetStringAsync("/openapi/v2.json", ct);
        Assert.Contains("/v2/chat/completions", v2, StringComparison.Ordinal);
        using var page = await client.GetAsync("/docs/", ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(ct);
        Assert.DoesNotContain("cdn.jsdelivr.net", html, StringComparison.Ordinal);
    }

    private async Task<(string Text, string? Finish, bool HasError, string RequestId)> StreamForbiddenAsync(string policy)
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await gateway.CreateTenantKeyAsync(policy: policy, ct: ct);
        using var client = gateway.Client(key);
        using var response = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "daprllm-demo", messages = new[] { new { role = "user", content = "say forbidden" } }, stream = true,
        }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = await ReadEventsAsync(response, ct);
        Assert.Equal("[DONE]", events[^1]);
        var docs = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        var hasError = docs.Any(d => d.TryGetProperty("error", out var e) && e.GetProperty("code").GetString() == "content_filter");
        var choices = docs.Where(d => d.TryGetProperty("choices", out var c) && c.GetArrayLength() > 0).Select(d => d.GetProperty("choices")[0]).ToList();
        var text = string.Concat(choices.Select(c => c.GetProperty("delta")).Where(d => d.TryGetProperty("content", out _)).Select(d => d.GetProperty("content").GetString()));
        var finish = choices.Select(c => c.GetProperty("finish_reason")).Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString()).LastOrDefault();
        return (text, finish, hasError, Assert.Single(response.Headers.GetValues("x-request-id")));
    }

    private static async Task<List<string>> ReadEventsAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        return body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e[6..] : e).ToList();
    }

    // requestId: false for answers given before an endpoint runs (unknown route, method, media type).
    private static async Task<string> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, CancellationToken ct, bool requestId = true)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {text}");
        Assert.True(!requestId || response.Headers.Contains("x-request-id"));
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());

        // OpenAI's error object always has all four fields (param may be null).
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        Assert.True(error.TryGetProperty("param", out _), text);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        return error.GetProperty("message").GetString()!;
    }

    // Embedding calls that reached the fake inference apps, every region.
    private int EmbeddingCalls() => gateway.Backend.Calls.Where(c => c.Key.EndsWith(" v1/embeddings", StringComparison.Ordinal)).Sum(c => c.Value);

    private static object Chat(string content) => new { model = "daprllm-demo", messages = new[] { new { role = "user", content } }, max_tokens = 16 };
}
