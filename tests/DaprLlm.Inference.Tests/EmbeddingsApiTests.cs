using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Embeddings;
using DaprLlm.Inference.Tests.Infrastructure;

namespace DaprLlm.Inference.Tests;

/// <summary>v1/embeddings serves all-MiniLM-L6-v2 through the catalog, batched and normalized.</summary>
public sealed class EmbeddingsApiTests(InferenceAppFactory app) : IClassFixture<InferenceAppFactory>
{
    private const string Model = "all-minilm-l6-v2";

    private static readonly string[] Sentences =
    [
        "The quick brown fox jumps over the lazy dog.",
        "In the beginning God created the heaven and the earth.",
        "Dapr sidecars carry every call between the apps.",
    ];

    [Fact]
    public async Task Batch_vectors_match_the_reference_embedder_and_have_unit_length()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        using var reference = new SentenceEmbedder();
        var expected = reference.Embed(Sentences, ct);

        using var response = await client.PostAsJsonAsync("/v1/embeddings", new { model = Model, input = Sentences }, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.Equal(Model, body.GetProperty("model").GetString());
        Assert.Equal(expected.TotalTokens, body.GetProperty("promptTokens").GetInt32());
        var data = body.GetProperty("data").EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        Assert.Equal(Sentences.Length, data.Length);
        for (var i = 0; i < data.Length; i++)
        {
            Assert.Equal(SentenceEmbedder.Dimensions, data[i].Length);
            Assert.InRange(Math.Sqrt(data[i].Sum(x => (double)x * x)), 0.999, 1.001);
            var cosine = data[i].Zip(expected.Vectors[i], (a, b) => (double)a * b).Sum();
            Assert.True(cosine >= 0.9999, $"sentence {i}: cosine {cosine}");
        }
    }

    [Fact]
    public async Task Safety_graph_vectors_equal_the_in_process_safety_embedder_bit_for_bit()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        // What the safety app's LinearSafetyModel.CreateEmbedder builds from models/safety/safety-model.json.
        using var reference = new SentenceEmbedder(new SentenceEmbedderOptions
        {
            MaxTokens = 64,
            MaxBatchSize = 1,
            IntraOpThreads = 1,
            ModelPath = Path.Combine(AppContext.BaseDirectory, "models", "safety", "minilm-l6-int8.onnx"),
        });
        string[] texts = [.. Sentences, string.Join(' ', Enumerable.Repeat("A much longer text that runs well past the sixty-four tokens the safety layer reads.", 12))];

        // One request with every text: the service must still run them one per call (an int8 graph's scale is per call).
        using var response = await client.PostAsJsonAsync("/v1/embeddings", new { model = Contracts.Inference.EmbeddingModels.SafetyMiniLm, input = texts, truncate = true }, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement;
        var data = body.GetProperty("data").EnumerateArray().Select(v => v.EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        Assert.Equal(texts.Length, data.Length);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(reference.Embed(texts[i]), data[i]);
        }

        Assert.Equal(texts.Sum(reference.CountTokens), body.GetProperty("promptTokens").GetInt32());
        Assert.Equal(64, reference.CountTokens(texts[^1]));
    }

    [Fact]
    public async Task A_text_longer_than_the_model_reads_is_refused_unless_truncation_is_asked_for()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        using var reference = new SentenceEmbedder();
        // "hello" is one token: 254 of them and [CLS], [SEP] fill the 256 the model reads; one more does not fit.
        var fits = string.Join(' ', Enumerable.Repeat("hello", 254)) + "   ";
        var over = string.Join(' ', Enumerable.Repeat("hello", 255));
        Assert.Null(reference.TokensIfTooLong(fits));
        Assert.Equal(257, reference.TokensIfTooLong(over));

        using var accepted = await client.PostAsJsonAsync("/v1/embeddings", new { model = Model, input = new[] { fits } }, ct);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        using var refused = await client.PostAsJsonAsync("/v1/embeddings", new { model = Model, input = new[] { "short", over } }, ct);
        var text = await refused.Content.ReadAsStringAsync(ct);
        Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, text);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("input", error.GetProperty("param").GetString());
        Assert.Contains("256 tokens, however input[1] has 257 tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var truncated = await client.PostAsJsonAsync("/v1/embeddings", new { model = Model, input = new[] { over }, truncate = true }, ct);
        Assert.Equal(HttpStatusCode.OK, truncated.StatusCode);
        var body = JsonDocument.Parse(await truncated.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.Equal(256, body.GetProperty("promptTokens").GetInt32());
        var vector = body.GetProperty("data")[0].EnumerateArray().Select(x => x.GetSingle()).ToArray();
        var cosine = vector.Zip(reference.Embed(over), (a, b) => (double)a * b).Sum();
        Assert.True(cosine >= 0.9999, $"cosine {cosine}");
    }

    [Fact]
    public async Task Chat_model_refuses_embeddings_and_embedding_model_refuses_generation()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();

        using var embedWithChat = await client.PostAsJsonAsync("/v1/embeddings", new { model = InferenceAppFactory.Model, input = Sentences }, ct);
        using var generateWithEmbedder = await client.PostAsJsonAsync("/v1/generate", Api.Request("hi", model: Model), ct);
        using var empty = await client.PostAsJsonAsync("/v1/embeddings", new { model = Model, input = Array.Empty<string>() }, ct);

        Assert.Equal(HttpStatusCode.BadRequest, embedWithChat.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, generateWithEmbedder.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
    }
}
