using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>
/// A local OpenAI-compatible server on a real loopback port: streamed chat completions (with usage), embeddings,
/// and per-model failures on demand (an HTTP status, or a stream cut off mid-way).
/// </summary>
public sealed class FakeOpenAiServer : IAsyncDisposable
{
    public const string Reply = "In the beginning was the Word, and the Word was with God.";
    public const string Key = "sk-test-key";

    private readonly WebApplication _app;

    private FakeOpenAiServer(WebApplication app) => _app = app;

    /// <summary>Base URL of the OpenAI API (ends in /v1).</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>Remote model name → HTTP status the server answers with instead of a completion.</summary>
    public ConcurrentDictionary<string, int> Failures { get; } = new();

    /// <summary>Bodies of the chat requests received, by remote model name.</summary>
    public ConcurrentDictionary<string, JsonNode> LastChatRequests { get; } = new();

    /// <summary>Authorization headers seen.</summary>
    public ConcurrentBag<string> Authorizations { get; } = [];

    public static async Task<FakeOpenAiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeOpenAiServer(app);
        app.MapPost("/v1/chat/completions", server.ChatAsync);
        app.MapPost("/v1/embeddings", server.EmbeddingsAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = address.TrimEnd('/') + "/v1";
        return server;
    }

    private async Task ChatAsync(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!;
        var model = body["model"]!.GetValue<string>();
        LastChatRequests[model] = body;
        Authorizations.Add(context.Request.Headers.Authorization.ToString());
        if (Failures.TryGetValue(model, out var status))
        {
            await FailAsync(context, status);
            return;
        }

        var maxTokens = body["max_completion_tokens"]?.GetValue<int>() ?? body["max_tokens"]?.GetValue<int>() ?? 1000;
        var words = Reply.Split(' ');
        var count = Math.Min(words.Length, maxTokens);
        context.Response.ContentType = "text/event-stream";
        for (var i = 0; i < count; i++)
        {
            await ChunkAsync(context, new JsonObject { ["content"] = (i == 0 ? "" : " ") + words[i] }, null);
        }

        await ChunkAsync(context, new JsonObject(), count < words.Length ? "length" : "stop");
        var usage = new JsonObject
        {
            ["id"] = "chatcmpl-1", ["object"] = "chat.completion.chunk", ["created"] = 0, ["model"] = model, ["choices"] = new JsonArray(),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 11, ["completion_tokens"] = count, ["total_tokens"] = 11 + count },
        };
        await context.Response.WriteAsync($"data: {usage.ToJsonString()}\n\ndata: [DONE]\n\n");
    }

    private static async Task ChunkAsync(HttpContext context, JsonObject delta, string? finish)
    {
        var chunk = new JsonObject
        {
            ["id"] = "chatcmpl-1", ["object"] = "chat.completion.chunk", ["created"] = 0, ["model"] = "fake",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };
        await context.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n");
        await context.Response.Body.FlushAsync();
    }

    private async Task EmbeddingsAsync(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!;
        var model = body["model"]!.GetValue<string>();
        Authorizations.Add(context.Request.Headers.Authorization.ToString());
        if (Failures.TryGetValue(model, out var status))
        {
            await FailAsync(context, status);
            return;
        }

        var inputs = body["input"] is JsonArray array ? array.Select(n => n!.GetValue<string>()).ToList() : [body["input"]!.GetValue<string>()];
        var base64 = body["encoding_format"]?.GetValue<string>() == "base64";
        var data = new JsonArray();
        for (var i = 0; i < inputs.Count; i++)
        {
            var vector = Vector(inputs[i]);
            JsonNode embedding = base64
                ? Convert.ToBase64String(vector.SelectMany(BitConverter.GetBytes).ToArray())
                : new JsonArray(vector.Select(v => (JsonNode)v).ToArray());
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = embedding });
        }

        var tokens = inputs.Sum(s => s.Split(' ').Length);
        var result = new JsonObject
        {
            ["object"] = "list", ["data"] = data, ["model"] = model,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        };
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(result.ToJsonString());
    }

    /// <summary>The vector the server gives a text: its length and first character code, so tests can check order.</summary>
    public static float[] Vector(string text) => [text.Length, text.Length == 0 ? 0 : text[0], 0.5f];

    private static async Task FailAsync(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var error = new JsonObject { ["error"] = new JsonObject { ["message"] = $"fake failure {status}", ["type"] = "server_error", ["code"] = null } };
        await context.Response.WriteAsync(error.ToJsonString(), Encoding.UTF8);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
