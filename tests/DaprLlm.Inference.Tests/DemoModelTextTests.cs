using DaprLlm.Inference.Tests.Infrastructure;
using DaprLlm.Inference.Tokenization;

namespace DaprLlm.Inference.Tests;

/// <summary>
/// The demo model's text reads as words and sentences (issue 5): its answers through the service's HTTP API, sampled
/// with the model card's recommended settings and greedy, scored by <see cref="TextQuality"/> against the KJV word
/// list. Negative controls: random tokens of the same vocabulary, the answers' characters shuffled, and their words
/// shuffled must fail the same check, so the check can fail. The scores are in the model card ("Text check").
/// </summary>
public sealed class DemoModelTextTests(InferenceAppFactory app) : IClassFixture<InferenceAppFactory>
{
    private static readonly string[] Prompts =
    [
        "In the beginning God created the heaven and the earth.",
        "The LORD is my shepherd; I shall not want.",
        "And Moses went up unto God.",
        "Blessed are the meek: for they shall inherit the earth.",
        "Hello, who are you?",
        "How do I prune roses?",
        "Tell me about the weather tomorrow.",
        "What is the meaning of life?",
    ];

    private static readonly int[] Seeds = [11, 22, 33, 44, 55, 66];

    // The model card's recommended sampling, reachable through the OpenAI API. At temperature 1 without top_p (the
    // gateway's default) about 86 % of the words are KJV words: the tail of the distribution spells non-words.
    private const double Temperature = 0.8;
    private const double TopP = 0.95;

    private static readonly TextQuality Quality = TextQuality.Load(Path.Combine(AppContext.BaseDirectory, "TestData", "kjv-words.txt"));

    [Fact]
    public async Task Sampled_answers_read_as_kjv_words_and_sentences()
    {
        var answers = await AnswersAsync(sampled: true);

        var scores = Quality.Score(answers.Select(a => a.Completion).ToList());

        Report("sampled", scores);
        Assert.Empty(scores.Problems());
        Assert.DoesNotContain(answers, a => a.Completion.Text.Contains("<|", StringComparison.Ordinal));
    }

    [Fact]
    public async Task At_the_api_default_temperature_the_model_s_own_sampling_defaults_keep_its_text_readable()
    {
        // Temperature 1 (the OpenAI default the gateway sends when a client sets none), no top_p or top_k: the model's
        // genai_config.json "search" section (do_sample, top_k 40, top_p 0.95) fills them in. Without it the words drop
        // to about 86 % KJV words.
        var answers = await AnswersAsync(sampled: true, temperature: 1.0, topP: null);

        var scores = Quality.Score(answers.Select(a => a.Completion).ToList());

        Report("temperature 1, model defaults", scores);
        Assert.Empty(scores.Problems());
        // A sampled role marker starts another turn: the answer ends there instead of printing "<|user|>" as text.
        Assert.DoesNotContain(answers, a => a.Completion.Text.Contains("<|", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Greedy_answers_are_kjv_words_in_capitalised_sentences()
    {
        var answers = await AnswersAsync(sampled: false);

        var scores = Quality.Score(answers.Select(a => a.Completion).ToList());

        // Greedy decoding loops on half of these prompts ("the land of the land of ...") until max_tokens, without a
        // clause end (the model card says so); only the word limits hold for it.
        Report("greedy", scores);
        Assert.True(scores.KnownWordShare >= 0.90, scores.ToString());
        Assert.True(scores.CapitalisedSentenceShare >= 0.90, scores.ToString());
        Assert.True(scores.LongestWord <= 20, scores.ToString());
        Assert.True(scores.LongestRepeat <= 3, scores.ToString());
    }

    [Fact]
    public async Task Random_tokens_of_the_model_s_vocabulary_fail_the_check()
    {
        var answers = await AnswersAsync(sampled: true);
        var tokenizer = ModelTokenizer.Load(DemoModel.Folder);
        var specials = tokenizer.SpecialTokens.Values.ToHashSet();
        int[] ordinary = [.. Enumerable.Range(0, tokenizer.VocabularySize).Where(id => !specials.Contains(id))];
        var random = new Random(5);

        // As many tokens as each real answer had, drawn uniformly from the vocabulary.
        var noise = answers.Select(a => new Completion(tokenizer.Decode(Enumerable.Range(0, a.Tokens).Select(_ => ordinary[random.Next(ordinary.Length)])),
            a.Completion.Ended)).ToList();
        var scores = Quality.Score(noise);

        Report("random tokens", scores);
        Assert.Contains("under 90 % of the words are KJV words", scores.Problems());
    }

    [Fact]
    public async Task The_answers_with_their_characters_shuffled_fail_the_check()
    {
        var answers = await AnswersAsync(sampled: true);
        var random = new Random(6);

        var shuffled = answers.Select(a => new Completion(new string(Shuffle(a.Completion.Text.ToCharArray(), random)), a.Completion.Ended)).ToList();
        var scores = Quality.Score(shuffled);

        Report("shuffled characters", scores);
        Assert.Contains("under 90 % of the words are KJV words", scores.Problems());
    }

    [Fact]
    public async Task The_answers_with_their_words_shuffled_keep_their_words_but_fail_on_sentence_shape()
    {
        var answers = await AnswersAsync(sampled: true);
        var random = new Random(7);

        var shuffled = answers.Select(a => new Completion(string.Join(' ', Shuffle(a.Completion.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries), random)),
            a.Completion.Ended)).ToList();
        var scores = Quality.Score(shuffled);

        Report("shuffled words", scores);
        Assert.True(scores.KnownWordShare >= 0.90, scores.ToString());
        Assert.Contains("under 90 % of the sentences start with a capital", scores.Problems());
    }

    private async Task<List<(Completion Completion, int Tokens)>> AnswersAsync(bool sampled, double temperature = Temperature, double? topP = TopP)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = app.CreateClient();
        var requests = sampled
            ? Prompts.SelectMany(p => Seeds.Select(seed => Api.Request(p, maxTokens: 64, temperature: temperature, seed: seed, topP: topP)))
            : Prompts.Select(p => Api.Request(p, maxTokens: 64));

        // Concurrent requests share decode steps; batching does not change an answer (BatchingTests).
        var results = await Task.WhenAll(requests.Select(r => Api.GenerateAsync(client, r, ct)));

        return [.. results.Select(r => (
            new Completion(r.GetProperty("text").GetString()!, r.GetProperty("finishReason").GetString() == "stop"),
            r.GetProperty("completionTokens").GetInt32()))];
    }

    private static T[] Shuffle<T>(T[] items, Random random)
    {
        random.Shuffle(items);
        return items;
    }

    private static void Report(string what, TextScores scores) =>
        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: {scores}; problems: [{string.Join("; ", scores.Problems())}]");
}
