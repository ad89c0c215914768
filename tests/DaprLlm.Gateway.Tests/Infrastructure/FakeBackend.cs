using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using DaprLlm.Gateway.Upstream;

namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>
/// Stand-ins for the inference and safety apps on a real loopback port, one path prefix per app id
/// (/inference-eu/..., /safety/...), speaking their wire contracts. Safety blocks output containing "forbidden",
/// input containing "blocked-input", and opens a review for "needs-review" (a prompt "say doubtful-X" gets an
/// answer with "needs-review-X", so its output goes to review). Tests can take an app id down, make inference overloaded, or make a stream hang.
/// </summary>
public sealed class FakeBackend : IAsyncDisposable
{
    private WebApplication? _app;

    public int Port { get; } = Ports.GetFree();

    public string BaseAddress => $"http://127.0.0.1:{Port}";

    /// <summary>Calls per app id and method, e.g. "inference-us v1/generate".</summary>
    public ConcurrentDictionary<string, int> Calls { get; } = new();

    public ConcurrentDictionary<string, bool> Down { get; } = new();

    public volatile bool Overloaded;

    /// <summary>The status an overloaded backend answers: 503, or 429 as a model queue that is full.</summary>
    public volatile int OverloadedStatus = 503;

    /// <summary>Models whose generation answers 500 (a failing model backend).</summary>
    public ConcurrentDictionary<string, bool> FailingModels { get; } = new();

    /// <summary>When set, streams send this many tokens and then wait until the client goes away.</summary>
    public volatile int HangAfterTokens = -1;

    /// <summary>Whole-text output checks answer 503 (safety failing after a stream was released).</summary>
    public volatile bool FailOutputChecks;

    /// <summary>When set, streams send this many tokens and then end the response cleanly, without their end event.</summary>
    public volatile int CloseStreamsAfterTokens = -1;

    /// <summary>When set, embedding calls wait until the caller goes away.</summary>
    public volatile bool HangEmbeddings;

    /// <summary>An embedding input holding this is longer than the model reads: the call is refused as inference refuses it.</summary>
    public const string TooLongInput = "too-long-for-the-model";

    /// <summary>
    /// "appId method" keys whose calls fail in the gateway's HttpClient with what a connect timeout throws
    /// (<see cref="TaskCanceledException"/> around a <see cref="TimeoutException"/>), before reaching this fake.
    /// </summary>
    public ConcurrentDictionary<string, bool> TimingOut { get; } = new();

    /// <summary>The number of inputs of each embedding call, in arrival order.</summary>
    public ConcurrentQueue<int> EmbeddingCallSizes { get; } = new();

    /// <summary>The safety policy version the fake safety app reports.</summary>
    public volatile string PolicyVersion = "p1";

    /// <summary>Extra words the output check blocks (a stricter policy version).</summary>
    public ConcurrentDictionary<string, bool> BlockedOutputWords { get; } = new();

    /// <summary>The last user message of every generate call, in the order they arrived.</summary>
    public ConcurrentQueue<string> GeneratePrompts { get; } = new();

    /// <summary>The message roles of every generate call, in arrival order.</summary>
    public ConcurrentQueue<string[]> GenerateRoles { get; } = new();

    /// <summary>The x-tenant-id header of each OpenAI moderations call.</summary>
    public ConcurrentQueue<string> ModerationTenants { get; } = new();

    /// <summary>The x-request-id header (the check id safety derives review ids from) of each OpenAI moderations call.</summary>
    public ConcurrentQueue<string> ModerationCheckIds { get; } = new();

    /// <summary>Every generate call as the gateway sent it (plain and streamed).</summary>
    public ConcurrentQueue<GenerateCall> GenerateCalls { get; } = new();

    /// <summary>Every moderation call's direction and body as the fake safety app received it, in arrival order.</summary>
    public ConcurrentQueue<(string Direction, JsonElement Body)> ModerationCalls { get; } = new();

    /// <summary>Reviews opened by "needs-review" prompts: id to the tenant and request it holds.</summary>
    public ConcurrentDictionary<string, (string TenantId, string RequestId)> OpenReviews { get; } = new();

    /// <summary>The embedding model that answers bag-of-words vectors (similar wording, similar vector).</summary>
    public const string SemanticModel = "fake-semantic";

    public int CallsTo(string key) => Calls.TryGetValue(key, out var n) ? n : 0;

    /// <summary>
    /// When set, this fake is the app of that id behind its own sidecar: paths arrive without the /{appId} prefix
    /// (the sidecar calls /v1/generate), so they are prefixed here before routing.
    /// </summary>
    public string? ServeAs { get; init; }

    /// <summary>Per "appId method" (e.g. "safety v1/moderations"): how many of the next calls answer 503 (a transient failure).</summary>
    public ConcurrentDictionary<string, int> TransientFailures { get; } = new();

    /// <summary>"appId method" keys whose calls hang until the caller gives up (no answer, no error).</summary>
    public ConcurrentDictionary<string, bool> Hanging { get; } = new();

    /// <summary>Every call that reached this fake, per "appId method", failed and hung ones included.</summary>
    public ConcurrentDictionary<string, int> Arrivals { get; } = new();

    public int ArrivalsAt(string key) => Arrivals.TryGetValue(key, out var n) ? n : 0;

    public static string AnswerFor(string appId, string prompt) =>
        prompt.Contains("say doubtful-", StringComparison.Ordinal)
            ? "I am not sure about this: needs-review-" + new string(prompt[(prompt.IndexOf("say doubtful-", StringComparison.Ordinal) + 13)..].TakeWhile(char.IsLetterOrDigit).ToArray())
            : prompt.Contains("say forbidden", StringComparison.Ordinal)
            ? "one two three four five six seven eight nine ten forbidden eleven twelve"
            : prompt.Contains("long answer", StringComparison.Ordinal)
                ? string.Join(' ', Enumerable.Range(1, 40).Select(i => $"word{i}"))
                : $"Hello from {appId} about the sea";

    public const int PromptTokens = 7;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Use(InjectFaultsAsync);
        app.UseRouting();

        app.MapPost("/{appId}/v1/generate", async (string appId, HttpContext context) =>
        {
            if (Fail(appId, "v1/generate", context) is { } failure)
            {
                return failure;
            }

            var call = await context.Request.ReadFromJsonAsync<GenerateCall>(UpstreamCall.Json);
            GeneratePrompts.Enqueue(call!.Messages[^1].Content);
            GenerateCalls.Enqueue(call);
            GenerateRoles.Enqueue([.. call.Messages.Select(m => m.Role)]);
            if (FailingModels.ContainsKey(call!.Model))
            {
                return Results.StatusCode(500);
            }

            var text = AnswerFor(appId, string.Join("\n", call!.Messages.Select(m => m.Content)));
            var words = text.Split(' ');
            var take = Math.Min(words.Length, call.MaxTokens);
            return Results.Json(new { model = call.Model, text = string.Join(' ', words.Take(take)), promptTokens = PromptTokens, completionTokens = take,
                finishReason = take < words.Length ? "length" : "stop" });
        });

        app.MapPost("/{appId}/v1/generate/stream", async (string appId, HttpContext context) =>
        {
            if (Fail(appId, "v1/generate/stream", context) is { } failure)
            {
                await failure.ExecuteAsync(context);
                return;
            }

            var call = await context.Request.ReadFromJsonAsync<GenerateCall>(UpstreamCall.Json);
            GenerateCalls.Enqueue(call!);
            var words = AnswerFor(appId, string.Join("\n", call!.Messages.Select(m => m.Content))).Split(' ');
            context.Response.ContentType = "text/event-stream";
            var sent = 0;
            foreach (var word in words.Take(call.MaxTokens))
            {
                if (HangAfterTokens >= 0 && sent == HangAfterTokens)
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }

                if (CloseStreamsAfterTokens >= 0 && sent == CloseStreamsAfterTokens)
                {
                    return;
                }

                await Send(context, new { type = "token", text = sent == 0 ? word : " " + word });
                sent++;
            }

            await Send(context, new { type = "end", finishReason = sent < words.Length ? "length" : "stop", promptTokens = PromptTokens, completionTokens = sent });
        });

        // The inference catalog: eu serves the small model only, us the small and the large one.
        app.MapGet("/{appId}/v1/models", (string appId, HttpContext context) =>
        {
            if (Fail(appId, "v1/models", context) is { } failure)
            {
                return failure;
            }

            string[] ids = appId == "inference-us" ? ["daprllm-demo", "daprllm-large", "daprllm-embed", "not-configured", "org/daprllm-slashed"] : ["daprllm-demo", "daprllm-embed", "org/daprllm-slashed"];
            return Results.Json(new { models = ids.Select(id => new { id, kind = "chat", tier = "small", regions = Array.Empty<string>(), contextLength = 512,
                provider = "onnx", executionProvider = "CPU", region = appId[^2..], status = "ready" }) });
        });

        app.MapPost("/{appId}/v1/embeddings", async (string appId, HttpContext context) =>
        {
            if (Fail(appId, "v1/embeddings", context) is { } failure)
            {
                return failure;
            }

            if (HangEmbeddings)
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }

            var call = await context.Request.ReadFromJsonAsync<EmbeddingsCall>(UpstreamCall.Json);
            EmbeddingCallSizes.Enqueue(call!.Input.Count);
            if (call.Input.ToList().FindIndex(t => t.Contains(TooLongInput, StringComparison.Ordinal)) is var tooLong and >= 0)
            {
                // The inference app's answer, which names the input by its place in this call.
                return Results.Json(new { error = new { message = $"This model's maximum context length is 256 tokens, however input[{tooLong}] has 300 tokens. Shorten or split the input.",
                    type = "invalid_request_error", param = "input", code = "context_length_exceeded" } }, statusCode: 400);
            }

            var data = call!.Model == SemanticModel
                ? call.Input.Select(BagOfWords).ToList()
                : call.Input.Select(text => new[] { text.Length, 1f, -0.5f, 0.25f }).ToList();
            return Results.Json(new { model = call.Model, data, promptTokens = call.Input.Sum(t => t.Length / 4 + 1) });
        });

        // input, output and output/window (a streamed answer's window: as the real app, a review verdict opens no item).
        app.MapPost("/safety/moderation/{**direction}", async (string direction, HttpContext context) =>
        {
            Count("safety", $"moderation/{direction}");
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            ModerationCalls.Enqueue((direction, body.RootElement.Clone()));
            var text = body.RootElement.GetProperty("text").GetString() ?? "";
            var window = direction == "output/window";
            direction = window ? "output" : direction;
            if (FailOutputChecks && direction == "output" && !window)
            {
                return Results.StatusCode(503);
            }

            if (text.Contains("needs-review", StringComparison.Ordinal) && window)
            {
                return Results.Json(new { decision = "review", reasons = new[] { "uncertain" }, policyVersion = "p1" });
            }

            if (text.Contains("needs-review", StringComparison.Ordinal))
            {
                var reviewId = ReviewIdFor(text);
                OpenReviews[reviewId] = (body.RootElement.GetProperty("tenantId").GetString() ?? "", body.RootElement.GetProperty("requestId").GetString() ?? "");
                return Results.Json(new { decision = "review", reasons = new[] { "uncertain" }, policyVersion = "p1", reviewId });
            }

            return text.Contains(direction == "output" ? "forbidden" : "blocked-input", StringComparison.Ordinal)
                || (direction == "output" && BlockedOutputWords.Keys.Any(w => text.Contains(w, StringComparison.Ordinal)))
                ? Results.Json(new { decision = "block", reasons = new[] { "deny-list" }, policyVersion = PolicyVersion })
                : Results.Json(new { decision = "allow", reasons = Array.Empty<string>(), policyVersion = PolicyVersion });
        });

        app.MapPost("/safety/v1/moderations", async (HttpContext context) =>
        {
            Count("safety", "v1/moderations");
            ModerationTenants.Enqueue(context.Request.Headers["x-tenant-id"].ToString());
            ModerationCheckIds.Enqueue(context.Request.Headers["x-request-id"].ToString());
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var input = body.RootElement.GetProperty("input");
            if (input.ValueKind == JsonValueKind.Array && input.GetArrayLength() == 0)
            {
                // As the real safety app: a client's bad input is its 400.
                return Results.Json(new { error = new { message = "'input' must not be empty", type = "invalid_request_error", param = "input", code = (string?)null } }, statusCode: 400);
            }

            var texts = input.ValueKind == JsonValueKind.Array ? input.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : [input.GetString() ?? ""];
            return Results.Json(new
            {
                id = "modr-1",
                model = "daprllm-moderation",
                results = texts.Select(t => new
                {
                    flagged = t.Contains("forbidden", StringComparison.Ordinal),
                    categories = new Dictionary<string, bool> { ["violence"] = t.Contains("forbidden", StringComparison.Ordinal) },
                    category_scores = new Dictionary<string, double> { ["violence"] = t.Contains("forbidden", StringComparison.Ordinal) ? 0.98 : 0.01 },
                }),
            });
        });

        // Safety's internal status shape: the reviewer's name and labels are there for the gateway to keep inside.
        app.MapGet("/safety/reviews/{id}", (string id) => OpenReviews.TryGetValue(id, out var review)
            ? Results.Json(new { id, status = "pending", decidedBy = "reviewer-alice", labels = new[] { "violence" }, tenantId = review.TenantId, requestId = review.RequestId })
            : Results.Json(new { error = new { message = "no such review", type = "invalid_request_error", param = (string?)null, code = "not_found" } }, statusCode: 404));

        await app.StartAsync();
        _app = app;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private async Task InjectFaultsAsync(HttpContext context, RequestDelegate next)
    {
        if (ServeAs is { } self)
        {
            context.Request.Path = "/" + self + context.Request.Path;
        }

        var parts = context.Request.Path.Value!.Split('/', 3);
        var key = parts.Length == 3 ? $"{parts[1]} {parts[2]}" : context.Request.Path.Value;
        Arrivals.AddOrUpdate(key, 1, (_, n) => n + 1);
        if (TransientFailures.TryGetValue(key, out var left) && left > 0 && TransientFailures.TryUpdate(key, left - 1, left))
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "briefly unavailable", type = "server_error", param = (string?)null, code = "unavailable" } });
            return;
        }

        if (Hanging.ContainsKey(key))
        {
            // Until the caller (here: the sidecar's timeout) cuts the call.
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        await next(context);
    }

    private IResult? Fail(string appId, string method, HttpContext context)
    {
        Count(appId, method);
        if (Down.ContainsKey(appId))
        {
            // What a Dapr sidecar answers when the target app cannot be reached.
            return Results.Json(new { errorCode = "ERR_DIRECT_INVOKE", message = $"failed to invoke, id: {appId}, err: connection refused" }, statusCode: 500);
        }

        if (Overloaded)
        {
            context.Response.Headers.RetryAfter = "3";
            return Results.Json(new { error = new { message = "overloaded", type = "server_error", param = (string?)null, code = "overloaded" } }, statusCode: OverloadedStatus);
        }

        return null;
    }

    // "needs-review-abc" opens review "rev-abc"; plain "needs-review" opens "rev-42".
    private static string ReviewIdFor(string text)
    {
        var at = text.IndexOf("needs-review-", StringComparison.Ordinal);
        return at < 0 ? "rev-42" : "rev-" + new string(text[(at + "needs-review-".Length)..].TakeWhile(char.IsLetterOrDigit).ToArray());
    }

    // 64 buckets of lower-cased words: the same words in any case or punctuation give the same vector.
    private static float[] BagOfWords(string text)
    {
        var vector = new float[64];
        foreach (var word in text.ToLowerInvariant().Split([' ', ',', '.', '?', '!', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var hash = 2166136261u;
            foreach (var c in word)
            {
                hash = (hash ^ c) * 16777619u;
            }

            vector[hash % 64] += 1f;
        }

        return vector;
    }

    private void Count(string appId, string method) => Calls.AddOrUpdate($"{appId} {method}", 1, (_, n) => n + 1);

    private static async Task Send(HttpContext context, object payload)
    {
        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(payload, UpstreamCall.Json) + "\n\n");
        await context.Response.Body.FlushAsync();
    }
}

/// <summary>Routes the gateway's upstream calls for an app id to <see cref="FakeBackend"/>'s /{appId}/ prefix.</summary>
public sealed class FakeChannels(FakeBackend backend) : IUpstreamChannels
{
    private readonly ConcurrentDictionary<string, HttpClient> _clients = new();

    public HttpClient For(string appId) =>
        _clients.GetOrAdd(appId, id => new HttpClient(new TimeoutFaults(backend, id) { InnerHandler = new SocketsHttpHandler() })
        {
            BaseAddress = new Uri($"{backend.BaseAddress}/{id}/"),
        });

    /// <summary>Throws what a connect timeout throws for the calls <see cref="FakeBackend.TimingOut"/> names.</summary>
    private sealed class TimeoutFaults(FakeBackend backend, string appId) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var method = request.RequestUri!.AbsolutePath.TrimStart('/')[(appId.Length + 1)..];
            return backend.TimingOut.ContainsKey($"{appId} {method}")
                ? throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout.", new TimeoutException())
                : base.SendAsync(request, cancellationToken);
        }
    }
}
