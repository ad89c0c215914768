using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using DaprLlm.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Moderations;

namespace DaprLlm.Gateway.Tests;

/// <summary>
/// Unchanged client libraries pointed at the gateway: the OpenAI .NET SDK, Microsoft.Extensions.AI's IChatClient,
/// Semantic Kernel's OpenAI connector and the npm openai package. Each does chat, streaming and embeddings, and sees
/// 401, 404 and 429 as its library's typed errors; the OpenAI SDK and the npm package also do moderations
/// (Microsoft.Extensions.AI and Semantic Kernel have no moderation API).
/// </summary>
public sealed class RealClientTests(SingleGateway gateway) : IClassFixture<SingleGateway>
{
    private const string Expected = "Hello from inference-eu about the sea";

    private OpenAIClient Sdk(string? key = null) => new(new ApiKeyCredential(key ?? gateway.DevKey), new OpenAIClientOptions
    {
        Endpoint = new Uri($"{gateway.Node.BaseAddress}/v1"),
        RetryPolicy = new ClientRetryPolicy(0), // a 429 must surface, not be retried away
    });

    [Fact]
    public async Task OpenAI_dotnet_sdk_chats_streams_embeds_and_moderates()
    {
        var ct = TestContext.Current.CancellationToken;
        var chat = Sdk().GetChatClient("daprllm-demo");
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: ct);
        Assert.Equal(Expected, completion.Content[0].Text);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(FakeBackend.PromptTokens, completion.Usage.InputTokenCount);

        var streamed = "";
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")], cancellationToken: ct))
        {
            streamed += string.Concat(update.ContentUpdate.Select(p => p.Text));
            usage ??= update.Usage;
        }

        Assert.Equal(Expected, streamed);
        Assert.Equal(6, usage?.OutputTokenCount);

        var embedding = await Sdk().GetEmbeddingClient("daprllm-embed").GenerateEmbeddingAsync("abcd", cancellationToken: ct);
        Assert.Equal(4f, embedding.Value.ToFloats().Span[0]);

        ModerationResult moderation = await Sdk().GetModerationClient("omni-moderation-latest").ClassifyTextAsync("forbidden", ct);
        Assert.True(moderation.Flagged);
    }

    [Fact]
    public async Task OpenAI_dotnet_sdk_sees_401_404_and_429_as_client_result_exceptions()
    {
        var ct = TestContext.Current.CancellationToken;
        var unauthorized = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk("dl-000000000000-000000000000000000000000000000000000000000000000").GetChatClient("daprllm-demo").CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: ct));
        Assert.Equal(401, unauthorized.Status);

        var notFound = await Assert.ThrowsAsync<ClientResultException>(() => Sdk().GetChatClient("no-such-model").CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: ct));
        Assert.Equal(404, notFound.Status);

        var limited = await Assert.ThrowsAsync<ClientResultException>(async () =>
            await Sdk(await ExhaustedKeyAsync(ct)).GetChatClient("daprllm-demo").CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: ct));
        Assert.Equal(429, limited.Status);
    }

    [Fact]
    public async Task Microsoft_extensions_ai_chat_client_chats_streams_and_embeds()
    {
        var ct = TestContext.Current.CancellationToken;
        IChatClient chat = Sdk().GetChatClient("daprllm-demo").AsIChatClient();
        var response = await chat.GetResponseAsync("hi", cancellationToken: ct);
        Assert.Equal(Expected, response.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Stop, response.FinishReason);

        var streamed = "";
        await foreach (var update in chat.GetStreamingResponseAsync("hi", cancellationToken: ct))
        {
            streamed += update.Text;
        }

        Assert.Equal(Expected, streamed);

        IEmbeddingGenerator<string, Embedding<float>> embedder = Sdk().GetEmbeddingClient("daprllm-embed").AsIEmbeddingGenerator();
        var vectors = await embedder.GenerateAsync(["abcd", "ef"], cancellationToken: ct);
        Assert.Equal(2, vectors.Count);
        Assert.Equal(2f, vectors[1].Vector.Span[0]);

        var notFound = await Assert.ThrowsAsync<ClientResultException>(() => Sdk().GetChatClient("no-such-model").AsIChatClient().GetResponseAsync("hi", cancellationToken: ct));
        Assert.Equal(404, notFound.Status);
        var unauthorized = await Assert.ThrowsAsync<ClientResultException>(() => Sdk("wrong-key-long-enough").GetChatClient("daprllm-demo").AsIChatClient().GetResponseAsync("hi", cancellationToken: ct));
        Assert.Equal(401, unauthorized.Status);
        var exhausted = await ExhaustedKeyAsync(ct);
        var limited = await Assert.ThrowsAsync<ClientResultException>(() => Sdk(exhausted).GetChatClient("daprllm-demo").AsIChatClient().GetResponseAsync("hi", cancellationToken: ct));
        Assert.Equal(429, limited.Status);
    }

    [Fact]
    public async Task Semantic_kernel_openai_connector_chats_streams_embeds_and_sees_typed_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        var service = new OpenAIChatCompletionService("daprllm-demo", Sdk());
        var history = new ChatHistory();
        history.AddUserMessage("hi");
        var reply = await service.GetChatMessageContentAsync(history, cancellationToken: ct);
        Assert.Equal(Expected, reply.Content);

        var streamed = "";
        await foreach (var part in service.GetStreamingChatMessageContentsAsync(history, cancellationToken: ct))
        {
            streamed += part.Content;
        }

        Assert.Equal(Expected, streamed);

        // Embeddings the way Semantic Kernel registers them (its OpenAI connector's embedding generator).
        // SKEXP0010: the connector's embedding generator is marked experimental; it is the one SK 1.82 recommends.
#pragma warning disable SKEXP0010
        var kernel = Kernel.CreateBuilder().AddOpenAIEmbeddingGenerator("daprllm-embed", Sdk()).Build();
#pragma warning restore SKEXP0010
        var vectors = await kernel.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>().GenerateAsync(["abcd", "ef"], cancellationToken: ct);
        Assert.Equal([4f, 2f], vectors.Select(v => v.Vector.Span[0]));

        var notFound = await Assert.ThrowsAsync<HttpOperationException>(() => new OpenAIChatCompletionService("no-such-model", Sdk()).GetChatMessageContentAsync(history, cancellationToken: ct));
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        var unauthorized = await Assert.ThrowsAsync<HttpOperationException>(() => new OpenAIChatCompletionService("daprllm-demo", Sdk("wrong-key-long-enough")).GetChatMessageContentAsync(history, cancellationToken: ct));
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        var exhausted = await ExhaustedKeyAsync(ct);
        var limited = await Assert.ThrowsAsync<HttpOperationException>(() => new OpenAIChatCompletionService("daprllm-demo", Sdk(exhausted)).GetChatMessageContentAsync(history, cancellationToken: ct));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
    }

    [Fact]
    public async Task Npm_openai_package_chats_streams_embeds_moderates_and_sees_typed_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        var folder = Path.Combine(RepoPaths.Root, "tests", "DaprLlm.Gateway.Tests", "node");
        if (!File.Exists(Path.Combine(folder, "node_modules", "openai", "package.json")))
        {
            var (installed, log) = await RunAsync("npm", ["install", "--no-audit", "--no-fund", "--silent"], folder, new Dictionary<string, string>(), ct);
            if (installed != 0)
            {
                Assert.Skip($"npm install of the openai package failed (no npm registry reachable?): {log}");
            }
        }

        var (exit, output) = await RunAsync("node", ["client.mjs"], folder, new Dictionary<string, string>
        {
            ["BASE_URL"] = $"{gateway.Node.BaseAddress}/v1",
            ["API_KEY"] = gateway.DevKey,
            ["QUOTA_KEY"] = await ExhaustedKeyAsync(ct),
        }, ct);
        Assert.True(exit == 0, output);
        var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(Expected, result.GetProperty("chat").GetString());
        Assert.Equal(Expected, result.GetProperty("stream").GetString());
        Assert.Equal("stop", result.GetProperty("finish").GetString());
        Assert.Equal(6, result.GetProperty("streamUsage").GetInt32());
        Assert.Equal(4, result.GetProperty("embedding").GetDouble());
        Assert.True(result.GetProperty("flagged").GetBoolean());
        Assert.Equal("AuthenticationError:401", result.GetProperty("unauthorized").GetString());
        Assert.Equal("NotFoundError:404", result.GetProperty("notFound").GetString());
        Assert.Equal("RateLimitError:429", result.GetProperty("rateLimited").GetString());
    }

    // A tenant whose daily token quota is 1: its first real request is refused with 429 insufficient_quota.
    private async Task<string> ExhaustedKeyAsync(CancellationToken ct)
    {
        using var admin = gateway.Admin();
        var id = $"x-{Guid.NewGuid():N}"[..20];
        using var created = await admin.PostAsJsonAsync("/admin/tenants", new { id, tier = "free", limits = new { tokensPerDay = 1 } }, ct);
        created.EnsureSuccessStatusCode();
        using var key = await admin.PostAsJsonAsync($"/admin/tenants/{id}/keys", new { name = "exhausted" }, ct);
        return (await key.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString()!;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, string folder, Dictionary<string, string> env, CancellationToken ct)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            info.Environment[k] = v;
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Skip($"'{file}' is not installed; the npm client test needs Node.js and npm.");
            throw;
        }

        using (process)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(3));
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
