using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DaprLlm.Inference.Batching;
using DaprLlm.Inference.Catalog;
using DaprLlm.Inference.Onnx;
using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// OpenAI's logit_bias, presence_penalty and frequency_penalty on the demo model through the real app, checked against
/// a reference greedy decode (full recomputation per token) that applies the same rules by hand.
/// </summary>
public sealed class SamplingControlsTests(InferenceAppFactory app) : IClassFixture<InferenceAppFactory>, IDisposable
{
    private const string Verse = "And the LORD spake unto Moses, saying,";
    private readonly Reference _reference = new(app);

    public void Dispose() => _reference.Dispose();

    [Fact]
    public async Task A_bias_of_minus_100_bans_the_greedy_token_and_plus_100_forces_a_token()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var first = _reference.Decode(Verse, 1, (_, _) => { })[0];

        var banned = await GenerateAsync(client, Verse, 1, new { logitBias = new Dictionary<string, double> { [first.ToString()] = -100 } }, ct);
        var second = _reference.Decode(Verse, 1, (logits, _) => logits[first] -= 100)[0];
        Assert.NotEqual(first, second);
        Assert.Equal(_reference.Tokenizer.Decode([second]), banned);

        // A plain word token forced at every step: the answer is that token five times.
        var forced = _reference.Tokenizer.Encode(" light").First();
        var text = await GenerateAsync(client, Verse, 5, new { logitBias = new Dictionary<string, double> { [forced.ToString()] = 100 } }, ct);
        Assert.Equal(_reference.Tokenizer.Decode(Enumerable.Repeat(forced, 5)), text);
    }

    [Fact]
    public async Task Presence_and_frequency_penalties_lower_the_tokens_already_generated_as_a_reference_decode_does()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        const int tokens = 30;

        var plain = await GenerateAsync(client, Verse, tokens, new { }, ct);
        var penalized = await GenerateAsync(client, Verse, tokens, new { presencePenalty = 1.5, frequencyPenalty = 0.5 }, ct);

        var expected = _reference.Decode(Verse, tokens, (logits, generated) =>
        {
            foreach (var group in generated.GroupBy(t => t))
            {
                logits[group.Key] -= 1.5f + (0.5f * group.Count());
            }
        });
        Assert.Equal(_reference.Tokenizer.Decode(expected), penalized);
        Assert.NotEqual(plain, penalized);
    }

    [Theory]
    [InlineData("\"logitBias\":{\"999999\":-100}", "vocabulary has")]
    [InlineData("\"logitBias\":{\"light\":-100}", "token ids")]
    [InlineData("\"logitBias\":{\"1\":5,\"01\":5}", "'01' is not")]
    [InlineData("\"logitBias\":{\"5\":-101}", "between -100 and 100")]
    [InlineData("\"presencePenalty\":2.5", "presence_penalty")]
    [InlineData("\"frequencyPenalty\":-3", "frequency_penalty")]
    public async Task Controls_out_of_range_are_400_invalid_value_naming_the_problem(string member, string message)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var body = "{\"requestId\":\"r\",\"model\":\"daprllm-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"maxTokens\":2,\"temperature\":0," + member + "}";

        using var response = await client.PostAsync("/v1/generate", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), ct);

        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal("invalid_value", error.GetProperty("code").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static async Task<string> GenerateAsync(HttpClient client, string content, int maxTokens, object controls, CancellationToken ct)
    {
        var request = JsonSerializer.SerializeToNode(Api.Request(content, maxTokens))!.AsObject();
        foreach (var (name, value) in JsonSerializer.SerializeToNode(controls)!.AsObject())
        {
            request[name] = value?.DeepClone();
        }

        using var response = await client.PostAsJsonAsync("/v1/generate", request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("text").GetString()!;
    }

    /// <summary>Greedy decoding by full recomputation, with a hook that may change each step's logits; stops at an end token.</summary>
    private sealed class Reference : IDisposable
    {
        private readonly OnnxDecoder _decoder;
        private readonly ChatTemplate _template;
        private readonly HashSet<int> _ends;

        public Reference(InferenceAppFactory app)
        {
            var provider = app.Services.GetRequiredService<ModelRegistry>().GetAsync(InferenceAppFactory.Model).GetAwaiter().GetResult().ExecutionProvider;
            Tokenizer = ModelTokenizer.Load(DemoModel.Folder);
            _template = ChatTemplate.For(Tokenizer);
            var config = GenAiConfig.Load(DemoModel.Folder);
            _ends = config.EosTokenIds.Append(_template.EndOfTurnId).ToHashSet();
            var (session, _) = SessionFactory.Create(Path.Combine(DemoModel.Folder, config.ModelFile), [provider], 1, NullLogger.Instance);
            _decoder = new OnnxDecoder(session, config, DemoModel.Padding);
        }

        public ModelTokenizer Tokenizer { get; }

        public List<int> Decode(string content, int maxTokens, Action<float[], List<int>> adjust)
        {
            var sequence = new List<int>(_template.Render([new("user", content)]));
            var generated = new List<int>();
            while (generated.Count < maxTokens)
            {
                var (logits, kv) = _decoder.Prefill(sequence);
                SchedulerRuns.DisposeAll(kv);
                var row = logits.ToArray();
                adjust(row, generated);
                var next = Sampler.ArgMax(row);
                if (_ends.Contains(next))
                {
                    break;
                }

                generated.Add(next);
                sequence.Add(next);
            }

            return generated;
        }

        public void Dispose() => _decoder.Dispose();
    }
}
