using System.Net;
using System.Text.Json;
using Dapr.Client;
using DaprLlm.Contracts;
using DaprLlm.Contracts.Events;
using DaprLlm.Gateway.Tests.Infrastructure;

namespace DaprLlm.Gateway.Tests;

/// <summary>
/// The semantic cache (embeddings from the inference app through its upstream channel, bag-of-words fake model) and
/// the GDPR purge of both caches through the real sidecar's pub/sub.
/// </summary>
public sealed class SemanticCacheTests(SemanticGateway gateway) : IClassFixture<SemanticGateway>
{
    private const string Question = "What is the capital of France?";
    private const string Paraphrase = "what is the capital of france";

    [Fact]
    public async Task A_similar_prompt_is_a_semantic_hit_with_cached_tokens_and_no_generation()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));

        var (first, firstBody) = await SendAsync(client, Question, ct);
        var generated = gateway.Backend.CallsTo("inference-eu v1/generate");
        var (second, secondBody) = await SendAsync(client, Paraphrase, ct);

        Assert.Equal(("miss", "semantic-hit"), (first, second));
        Assert.Equal(generated, gateway.Backend.CallsTo("inference-eu v1/generate"));
        Assert.Equal(Content(firstBody), Content(secondBody));
        var usage = secondBody.GetProperty("usage");
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 0);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
    }

    [Fact]
    public async Task A_different_question_misses()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        Assert.Equal("miss", (await SendAsync(client, Question, ct)).Cache);
        Assert.Equal("miss", (await SendAsync(client, "How deep is the Atlantic ocean near Portugal?", ct)).Cache);
    }

    [Fact]
    public async Task A_system_message_is_never_taken_for_the_same_words_in_the_question()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        async Task<string> Send(object[] messages)
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "daprllm-demo", messages, temperature = 0 }, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return Assert.Single(response.Headers.GetValues("x-daprllm-cache"));
        }

        // The same words, once split into an instruction and a question, once all in the question: alike as vectors.
        Assert.Equal("miss", await Send([new { role = "system", content = "Answer in French." }, new { role = "user", content = Question }]));
        Assert.Equal("miss", await Send([new { role = "user", content = "Answer in French. " + Question }]));
        Assert.Equal("semantic-hit", await Send([new { role = "system", content = "Answer in French." }, new { role = "user", content = Paraphrase }]));
    }

    [Fact]
    public async Task A_conversation_differing_only_in_its_last_turn_after_a_long_history_misses()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        async Task<string> Send(string city)
        {
            // A long first turn, then a short question: joined, the two conversations would be nearly the same vector.
            var messages = new object[]
            {
                new { role = "user", content = "I am planning a long trip through Europe next spring with my family and two small children, we like museums, parks, old churches, good food and quiet hotels near the centre." },
                new { role = "assistant", content = "Happy to help plan it." },
                new { role = "user", content = $"Tell me about {city}." },
            };
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "daprllm-demo", messages, temperature = 0 }, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return Assert.Single(response.Headers.GetValues("x-daprllm-cache"));
        }

        Assert.Equal("miss", await Send("Paris"));
        Assert.Equal("miss", await Send("Rome"));

        // The same conversation asked again with its last turn reworded still hits.
        Assert.Equal("semantic-hit", await Send("paris"));
    }

    [Fact]
    public async Task Another_seed_temperature_or_stop_list_is_never_served_a_similar_prompt_s_sample()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        async Task<string> Send(string content, object settings)
        {
            var body = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(settings))!.AsObject();
            body["model"] = "daprllm-demo";
            body["messages"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["role"] = "user", ["content"] = content });
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", body, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return Assert.Single(response.Headers.GetValues("x-daprllm-cache"));
        }

        // A seeded client asks again with other seeds for other samples; each setting is its own partition.
        Assert.Equal("miss", await Send(Question, new { temperature = 1.2, seed = 1 }));
        Assert.Equal("miss", await Send(Paraphrase, new { temperature = 1.2, seed = 2 }));
        Assert.Equal("miss", await Send(Paraphrase, new { temperature = 0.7, seed = 1 }));
        Assert.Equal("miss", await Send(Paraphrase, new { temperature = 1.2, seed = 1, stop = new[] { "\n" } }));
        Assert.Equal("miss", await Send(Paraphrase, new { temperature = 1.2, seed = 1, top_p = 0.5 }));
        Assert.Equal("semantic-hit", await Send(Paraphrase + "?", new { temperature = 1.2, seed = 1 }));
    }

    [Fact]
    public async Task Tenants_never_share_semantic_entries()
    {
        var ct = TestContext.Current.CancellationToken;
        using var a = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        using var b = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        Assert.Equal("miss", (await SendAsync(a, Question, ct)).Cache);
        Assert.Equal("miss", (await SendAsync(b, Paraphrase, ct)).Cache);
        Assert.Equal("semantic-hit", (await SendAsync(b, Question, ct)).Cache);
    }

    [Fact]
    public async Task A_flagged_answer_is_never_stored_nor_served()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        var (first, firstBody) = await SendAsync(client, "please say forbidden words now", ct);
        var (second, secondBody) = await SendAsync(client, "Please say forbidden words now!", ct);
        Assert.Equal(("miss", "miss"), (first, second));
        Assert.Equal("content_filter", secondBody.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("", Content(firstBody));
    }

    [Fact]
    public async Task A_new_policy_version_rechecks_cached_answers_and_drops_those_it_blocks()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = gateway.Client(await gateway.CreateTenantKeyAsync(ct: ct));
        try
        {
            var seen = gateway.Backend.ModerationCalls.Count;
            Assert.Equal("miss", (await SendAsync(client, Question, ct)).Cache);
            // The output check carries the tenant and the conversation (a reviewer sees the prompt behind an answer).
            var (tenant, output) = OutputCheckOf(seen);
            Assert.Contains(output.GetProperty("messages").EnumerateArray(), m => m.GetProperty("content").GetString() == Question);

            // p2 still allows the answer: the re-check passes and it is served.
            gateway.Backend.PolicyVersion = "p2";
            var checks = gateway.Backend.CallsTo("safety moderation/output");
            seen = gateway.Backend.ModerationCalls.Count;
            Assert.Equal("semantic-hit", (await SendAsync(client, Paraphrase, ct)).Cache);
            Assert.Equal(checks + 1, gateway.Backend.CallsTo("safety moderation/output"));
            // The re-check runs under the tenant's own policy, not the default one.
            var (recheckTenant, recheck) = OutputCheckOf(seen);
            Assert.Equal(tenant, recheckTenant);
            Assert.Contains(recheck.GetProperty("messages").EnumerateArray(), m => m.GetProperty("content").GetString() == Paraphrase);

            // p3 blocks it: the cached answer is dropped, never served; the fresh answer is filtered too.
            gateway.Backend.BlockedOutputWords["sea"] = true;
            gateway.Backend.PolicyVersion = "p3";
            var (cache, body) = await SendAsync(client, Paraphrase + "?", ct);
            Assert.Equal("miss", cache);
            Assert.Equal("content_filter", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        }
        finally
        {
            gateway.Backend.BlockedOutputWords.Clear();
            gateway.Backend.PolicyVersion = "p1";
        }
    }

    [Fact]
    public async Task A_subject_erasure_event_drops_that_users_entries_from_both_caches()
    {
        var ct = TestContext.Current.CancellationToken;
        var (tenantId, key) = await gateway.CreateTenantAsync(ct: ct);
        using var client = gateway.Client(key);
        Assert.Equal("miss", (await SendAsync(client, Question, ct, user: "alice")).Cache);
        Assert.Equal("hit", (await SendAsync(client, Question, ct, user: "alice")).Cache);
        Assert.Equal("miss", (await SendAsync(client, "Where do penguins live in the wild?", ct, user: "bob")).Cache);

        // Published through the gateway's own sidecar to Redis Streams; the sidecar delivers it to the subscription.
        var dapr = gateway.Node.Services.GetRequiredService<DaprClient>();
        await dapr.PublishEventAsync(DaprComponents.PubSub, Topics.SubjectErased,
            new SubjectErasedV1(tenantId, "alice", "subj-1", "eu", DateTimeOffset.UtcNow, "test"), ct);

        // Alice's exact entry and her semantic entry are gone (the paraphrase no longer hits either).
        await Deadline.WaitUntilAsync(async () => (await SendAsync(client, Paraphrase, ct, user: "carol")).Cache == "miss",
            TimeSpan.FromSeconds(20), "alice's entries to be purged");

        // Alice's exact entry is gone too: the same question is no exact hit any more (carol's new entry answers it semantically).
        Assert.Equal("semantic-hit", (await SendAsync(client, Question, ct, user: "dave")).Cache);
        Assert.Equal("hit", (await SendAsync(client, "Where do penguins live in the wild?", ct, user: "bob")).Cache);
    }

    /// <summary>The tenant and body of the output check made since <paramref name="seen"/> calls, which must name the
    /// same tenant as its request's input check.</summary>
    private (string Tenant, System.Text.Json.JsonElement Body) OutputCheckOf(int seen)
    {
        var calls = gateway.Backend.ModerationCalls.Skip(seen).ToList();
        var output = calls.Last(c => c.Direction == "output").Body;
        var requestId = output.GetProperty("requestId").GetString();
        var input = calls.First(c => c.Direction == "input" && c.Body.GetProperty("requestId").GetString() == requestId).Body;
        var tenant = input.GetProperty("tenantId").GetString();
        Assert.False(string.IsNullOrEmpty(tenant));
        Assert.Equal(tenant, output.GetProperty("tenantId").GetString());
        return (tenant!, output);
    }

    private static string? Content(JsonElement body) => body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();

    private static async Task<(string Cache, JsonElement Body)> SendAsync(HttpClient client, string content, CancellationToken ct, string? user = null)
    {
        using var response = await client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "daprllm-demo", messages = new[] { new { role = "user", content } }, temperature = 0, user }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (Assert.Single(response.Headers.GetValues("x-daprllm-cache")), await response.Content.ReadFromJsonAsync<JsonElement>(ct));
    }
}
