using System.Net;
using System.Text.Json;
using Dapr.Actors;
using Dapr.Actors.Client;
using DaprLlm.Gateway.Chat;
using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Tests;

/// <summary>Quotas in actors with local leases, across three gateway replicas with their own sidecars.</summary>
public sealed class QuotaTests(ThreeGateways cluster) : IClassFixture<ThreeGateways>
{
    [Fact]
    public async Task A_key_revoked_on_one_replica_stops_working_on_every_replica_promptly()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await cluster.CreateTenantKeyAsync("pro", ct);
        var clients = cluster.Nodes.Select(n => n.Client(key)).ToList();
        foreach (var client in clients)
        {
            // Each replica verifies the key once and caches it (the cache lives on fake time here, so it never expires by itself).
            using var ok = await client.GetAsync("/v1/models", ct);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var admin = cluster.Nodes[0].Client(GatewayEnvironment.AdminKey);
        using var revoked = await admin.DeleteAsync($"/admin/keys/{key[3..15]}", ct);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        var started = System.Diagnostics.Stopwatch.StartNew();
        foreach (var client in clients)
        {
            await Deadline.WaitUntilAsync(async () =>
            {
                using var response = await client.GetAsync("/v1/models", ct);
                return response.StatusCode == HttpStatusCode.Unauthorized;
            }, TimeSpan.FromSeconds(5), "the revoked key to be refused on every replica (revocation poll: 1 s)");
        }

        TestContext.Current.SendDiagnosticMessage($"revocation reached all 3 replicas after {started.ElapsedMilliseconds} ms");
        foreach (var c in clients)
        {
            c.Dispose();
        }
    }

    [Fact]
    public async Task Three_replicas_hammered_by_one_key_never_admit_more_requests_than_limit_plus_burst()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await cluster.CreateTenantKeyAsync("free", ct);
        var clients = cluster.Nodes.Select(n => n.Client(key)).ToList();

        var results = await Task.WhenAll(Enumerable.Range(0, 120).Select(async i =>
        {
            using var response = await clients[i % 3].PostAsJsonAsync("/v1/chat/completions", Chat("hi", 8), ct);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
                var error = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
                Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("30", Assert.Single(response.Headers.GetValues("x-ratelimit-limit-requests")));
                Assert.True(response.Headers.Contains("x-ratelimit-remaining-tokens"));
                Assert.True(response.Headers.Contains("x-ratelimit-reset-requests"));
            }

            return response.StatusCode;
        }));

        var admitted = results.Count(s => s == HttpStatusCode.OK);
        Assert.InRange(admitted, 30 - (3 * 2), 30 + 6);
        Assert.Equal(120, admitted + results.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task A_request_refused_by_its_quota_is_audited_with_outcome_and_error_code()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await cluster.CreateTenantKeyAsync("free", ct);
        using var client = cluster.Nodes[1].Client(key);
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 60 && refused is null; i++)
        {
            var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi", 8), ct);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                response.Dispose();
            }
        }

        // 30 requests a minute + a burst of 6: the limit binds well before 60.
        Assert.NotNull(refused);
        using (refused)
        {
            var requestId = Assert.Single(refused.Headers.GetValues("x-request-id"));
            var completed = await AuditStreams.WaitForAsync(cluster.Environment.Redis, DaprLlm.Contracts.Topics.RequestCompleted, requestId);
            Assert.Equal("refused_quota", completed.GetProperty("outcome").GetString());
            Assert.Equal("rate_limit_exceeded", completed.GetProperty("errorCode").GetString());
            Assert.Equal(key[3..15], completed.GetProperty("keyId").GetString());
            Assert.Equal("daprllm-demo", completed.GetProperty("model").GetString());
            var received = await AuditStreams.WaitForAsync(cluster.Environment.Redis, DaprLlm.Contracts.Topics.RequestReceived, requestId);
            Assert.Equal("bypass", received.GetProperty("cache").GetString());
        }
    }

    [Fact]
    public async Task Token_reservations_across_replicas_never_exceed_the_token_limit_plus_burst()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await cluster.CreateTenantKeyAsync("pro", ct);
        var clients = cluster.Nodes.Select(n => n.Client(key)).ToList();
        cluster.Backend.HangAfterTokens = 1;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var open = new List<HttpResponseMessage>();
        try
        {
            // Streams that hang after one token keep their reservation (prompt estimate + 1000) until they end.
            var responses = await Task.WhenAll(Enumerable.Range(0, 15).Select(async i =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(Chat("hi", 1000, stream: true)) };
                return await clients[i % 3].SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            }));
            open.AddRange(responses);
            var admitted = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
            var reservation = GenerationContext.EstimatePromptTokens(["hi"]) + 1000;
            Assert.InRange(admitted, 1, (5000 + 1000) / reservation);
            Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode));
        }
        finally
        {
            cluster.Backend.HangAfterTokens = -1;
            await cancel.CancelAsync();
            open.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task A_streamed_response_is_settled_with_its_real_token_count()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await cluster.CreateTenantKeyAsync("enterprise", ct);
        using var client = cluster.Nodes[1].Client(key);

        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi", 500, stream: true), ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        var words = FakeBackend.AnswerFor("inference-eu", "hi").Split(' ').Length;

        var used = await SettledTokensAsync(key, expected: FakeBackend.PromptTokens + words, ct);
        Assert.Equal(FakeBackend.PromptTokens + words, used);
    }

    [Fact]
    public async Task A_cancelled_stream_returns_its_unused_reservation()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await cluster.CreateTenantKeyAsync("enterprise", ct);
        using var client = cluster.Nodes[2].Client(key);
        cluster.Backend.HangAfterTokens = 3;
        try
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(Chat("count please", 900, stream: true)) };
            using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
                var contentChunks = 0;
                while (contentChunks < 3 && await reader.ReadLineAsync(ct) is { } line)
                {
                    contentChunks += line.Contains("\"content\":\"", StringComparison.Ordinal) && !line.Contains("\"content\":\"\"", StringComparison.Ordinal) ? 1 : 0;
                }

                Assert.Equal(3, contentChunks);
            }

            var expected = GenerationContext.EstimatePromptTokens(["count please"]) + 3;
            Assert.Equal(expected, await SettledTokensAsync(key, expected, ct));
        }
        finally
        {
            cluster.Backend.HangAfterTokens = -1;
        }
    }

    [Fact]
    public async Task A_tenant_at_its_concurrency_limit_gets_429_until_a_running_request_ends()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = cluster.Nodes[0].Client(GatewayEnvironment.AdminKey);
        var id = $"c-{Guid.NewGuid():N}"[..20];
        using (var created = await admin.PostAsJsonAsync("/admin/tenants",
            new { id, tier = "pro", homeRegion = "eu", allowedRegions = new[] { "eu" }, streamingPolicy = "async", limits = new { maxConcurrentRequests = 1 } }, ct))
        {
            created.EnsureSuccessStatusCode();
        }

        using var keyResponse = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "c" }, ct);
        using var client = cluster.Nodes[0].Client((await keyResponse.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString());
        cluster.Backend.HangAfterTokens = 1;
        try
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(Chat("hold", 8, stream: true)) };
            using (var running = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct))
            {
                Assert.Equal(HttpStatusCode.OK, running.StatusCode);
                using var second = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi", 8), ct);
                Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
                Assert.Equal("rate_limit_exceeded", (await second.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());
                cluster.Backend.HangAfterTokens = -1;
            }

            // The running stream's client went away: its slot is free again.
            await Deadline.WaitUntilAsync(async () =>
            {
                using var third = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi", 8), ct);
                return third.StatusCode == HttpStatusCode.OK;
            }, TimeSpan.FromSeconds(10), "the freed slot to admit a new request");
        }
        finally
        {
            cluster.Backend.HangAfterTokens = -1;
        }
    }

    [Fact]
    public async Task An_embeddings_client_that_goes_away_frees_its_concurrency_slot()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = cluster.Nodes[0].Client(GatewayEnvironment.AdminKey);
        var id = $"e-{Guid.NewGuid():N}"[..20];
        using (var created = await admin.PostAsJsonAsync("/admin/tenants",
            new { id, tier = "pro", homeRegion = "eu", allowedRegions = new[] { "eu" }, limits = new { maxConcurrentRequests = 1 } }, ct))
        {
            created.EnsureSuccessStatusCode();
        }

        using var keyResponse = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "e" }, ct);
        using var client = cluster.Nodes[0].Client((await keyResponse.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString());
        cluster.Backend.HangEmbeddings = true;
        try
        {
            using var gone = CancellationTokenSource.CreateLinkedTokenSource(ct);
            gone.CancelAfter(TimeSpan.FromSeconds(1));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                client.PostAsJsonAsync("/v1/embeddings", new { model = "all-minilm-l6-v2", input = "hold" }, gone.Token));
        }
        finally
        {
            cluster.Backend.HangEmbeddings = false;
        }

        // The slot was held by a request that ended: the next one is admitted (it stayed 429 for good before).
        await Deadline.WaitUntilAsync(async () =>
        {
            using var next = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi", 8), ct);
            return next.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(10), "the freed slot to admit a new request");
    }

    [Fact]
    public async Task An_exchange_sent_twice_through_the_sidecar_is_applied_once_and_answered_alike()
    {
        var node = cluster.Nodes[1];
        var limits = new QuotaLimits { RequestsPerMinute = 10, BurstRequests = 0 };
        var actor = node.Services.GetRequiredService<IActorProxyFactory>().CreateActorProxy<IQuotaActor>(new ActorId($"key:twice-{Guid.NewGuid():N}"), QuotaService.ActorType);
        var exchange = new LeaseExchange { Limits = limits, NeedRequests = 1, ExtraRequests = 2, LeaseId = Guid.NewGuid().ToString("N"), Sequence = 1 };

        // The second call is what a lease sends when the first answer was lost, or what a retry policy would send.
        var first = await actor.ExchangeAsync(exchange);
        var again = await actor.ExchangeAsync(exchange);

        Assert.True(first.Granted);
        Assert.Equal((true, first.Window, 3, first.Tokens, first.Slots), (again.Granted, again.Window, again.Requests, again.Tokens, again.Slots));
        Assert.Equal(3, (await actor.PeekAsync(limits)).RequestsUsed);
    }

    [Fact]
    public async Task Moderations_count_against_the_key_s_request_limit()
    {
        var ct = TestContext.Current.CancellationToken;
        // One request a minute (the tier's burst scaled to 1/10,000 is 0): a second moderation in the minute is refused.
        using var client = cluster.Nodes[0].Client(await CreateLimitedTenantKeyAsync(new { requestsPerMinute = 1 }, ct));

        using var first = await client.PostAsJsonAsync("/v1/moderations", new { input = "a calm sea" }, ct);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("1", Assert.Single(first.Headers.GetValues("x-ratelimit-limit-requests")));

        using var second = await client.PostAsJsonAsync("/v1/moderations", new { input = "a calm sea" }, ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("rate_limit_exceeded", (await second.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_embeddings_call_that_times_out_is_a_504_and_charges_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var key = await cluster.CreateTenantKeyAsync("enterprise", ct);
        using var client = cluster.Nodes[0].Client(key);
        const string Method = "inference-eu v1/embeddings";
        cluster.Backend.TimingOut[Method] = true;
        try
        {
            using var timedOut = await client.PostAsJsonAsync("/v1/embeddings", new { model = "all-minilm-l6-v2", input = new string('a', 400) }, ct);
            var text = await timedOut.Content.ReadAsStringAsync(ct);
            Assert.True(timedOut.StatusCode == HttpStatusCode.GatewayTimeout, text);
            Assert.Equal("upstream_timeout", JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        finally
        {
            cluster.Backend.TimingOut.TryRemove(Method, out _);
        }

        // Only the next request's own tokens are charged: the timed-out one's estimate (about 100 tokens) was given back.
        using var served = await client.PostAsJsonAsync("/v1/embeddings", new { model = "all-minilm-l6-v2", input = "abcd" }, ct);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        var tokens = (await served.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        Assert.Equal(tokens, await SettledTokensAsync(key, tokens, ct));
    }

    // Advances the shared clock past the idle-return time so leases give back what was not used, then reads the actor.
    private async Task<long> SettledTokensAsync(string key, long expected, CancellationToken ct)
    {
        var node = cluster.Nodes[0];
        var limits = node.Services.GetRequiredService<IOptions<QuotaOptions>>().Value.Tiers["enterprise"];
        var actor = node.Services.GetRequiredService<IActorProxyFactory>().CreateActorProxy<IQuotaActor>(new ActorId($"key:{key[3..15]}"), QuotaService.ActorType);
        long used = -1;
        var advanced = TimeSpan.Zero;
        await Deadline.WaitUntilAsync(async () =>
        {
            // At most 20 s of fake time per test, a few in practice (three such tests): every test stays inside the fixture's first minute.
            if (advanced < TimeSpan.FromSeconds(20))
            {
                cluster.Time.Advance(TimeSpan.FromMilliseconds(100));
                advanced += TimeSpan.FromMilliseconds(100);
            }

            used = (await actor.PeekAsync(limits)).TokensUsed;
            return used == expected;
        }, TimeSpan.FromSeconds(20), $"the key's actor to hold {expected} settled tokens (last seen {used})");
        return used;
    }

    [Fact]
    public async Task A_tenant_s_own_request_limit_gets_a_burst_in_proportion_and_the_headers_show_the_tighter_quota()
    {
        var ct = TestContext.Current.CancellationToken;
        // pro keys allow 10,000 a minute; this tenant allows 3 (the tier's burst of 100 scaled to 3/10,000 is 0).
        using var client = cluster.Nodes[0].Client(await CreateLimitedTenantKeyAsync(new { requestsPerMinute = 3 }, ct));
        var admitted = 0;
        var limits = new List<string>();
        var remaining = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi", 4), ct);
            admitted += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
            limits.Add(Assert.Single(response.Headers.GetValues("x-ratelimit-limit-requests")));
            remaining.Add(Assert.Single(response.Headers.GetValues("x-ratelimit-remaining-requests")));
        }

        // A minute boundary between requests would reset the window; then at most 3 more fit.
        Assert.InRange(admitted, 3, 6);
        Assert.All(limits, l => Assert.Equal("3", l));
        Assert.Equal("0", remaining[^1]);
    }

    [Theory]
    [InlineData("tokensPerMinute", "tokens per min (TPM): Limit 60,")]
    [InlineData("tokensPerDay", "tokens per day (TPD): Limit 40,")]
    public async Task A_request_larger_than_any_window_allows_is_told_to_shrink_not_to_retry(string limit, string expected)
    {
        var ct = TestContext.Current.CancellationToken;
        // 50 tokens a minute (+ the tier's burst scaled: 1,000 x 50/5,000 = 10) or 40 a day; the request reserves 100 + its prompt.
        var limits = new Dictionary<string, int> { [limit] = limit == "tokensPerMinute" ? 50 : 40 };
        using var client = cluster.Nodes[0].Client(await CreateLimitedTenantKeyAsync(limits, ct));

        using var response = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi", 100), ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Contains("Request too large on " + expected, error.GetProperty("message").GetString());

        // A request that fits is still served.
        using var small = await client.PostAsJsonAsync("/v1/chat/completions", Chat("hi", 4), ct);
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    private async Task<string> CreateLimitedTenantKeyAsync(object limits, CancellationToken ct)
    {
        using var admin = cluster.Nodes[0].Client(GatewayEnvironment.AdminKey);
        var id = $"l-{Guid.NewGuid():N}"[..20];
        using (var created = await admin.PostAsJsonAsync("/admin/tenants",
            new { id, tier = "pro", homeRegion = "eu", allowedRegions = new[] { "eu" }, limits }, ct))
        {
            created.EnsureSuccessStatusCode();
        }

        using var keyResponse = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "l" }, ct);
        keyResponse.EnsureSuccessStatusCode();
        return (await keyResponse.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString()!;
    }

    private static object Chat(string content, int maxTokens, bool stream = false) =>
        new { model = "daprllm-demo", messages = new[] { new { role = "user", content } }, max_tokens = maxTokens, stream };
}
