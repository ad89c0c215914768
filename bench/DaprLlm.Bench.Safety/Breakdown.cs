using System.Diagnostics;
using System.Globalization;
using DaprLlm.Embeddings;
using DaprLlm.Safety.Classification.Features;
using DaprLlm.Safety.Rules;

/// <summary>
/// Where a 512-token check spends its time, one caller: rules, n-gram features, tokenization, the MiniLM pass
/// (exact float model against the int8 copy, at several token counts) and how far int8 vectors drift from float.
/// </summary>
internal static class Breakdown
{
    public static void Run(List<string> longInputs, List<string> prompts, string int8Model, int iterations)
    {
        var rules = new RuleEngine(new RuleSet { DenyTerms = ["build a bomb"] });
        var featurizer = new HashedTextFeaturizer(18, 4096);
        Measure("rules", longInputs, iterations, t => rules.Evaluate(t));
        Measure("n-gram features (4096 chars)", longInputs, iterations, t => featurizer.Featurize(t));
        foreach (var tokens in new[] { 64, 128 })
        {
            foreach (var (name, path) in new[] { ("float", (string?)null), ("int8", int8Model) })
            {
                foreach (var threads in new[] { 1, 2 })
                {
                    using var embedder = new SentenceEmbedder(new SentenceEmbedderOptions { MaxTokens = tokens, ModelPath = path, IntraOpThreads = threads });
                    Measure($"MiniLM {name} {tokens} tokens, {threads} thread(s)", longInputs, iterations, t => embedder.Embed(t));
                    if (threads == 1)
                    {
                        Measure($"tokenize {tokens} tokens", longInputs, iterations, t => embedder.CountTokens(t));
                    }
                }
            }
        }

        using var exact = new SentenceEmbedder(new SentenceEmbedderOptions { MaxTokens = 128 });
        using var quantized = new SentenceEmbedder(new SentenceEmbedderOptions { MaxTokens = 128, ModelPath = int8Model });
        var sample = prompts.Take(300).ToList();
        var a = exact.Embed(sample).Vectors;
        var b = quantized.Embed(sample).Vectors;
        var cosines = a.Select((v, i) => (double)v.Zip(b[i], (x, y) => x * y).Sum()).Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"int8 vs float cosine over {sample.Count} prompts: min {cosines[0]:F4} p1 {cosines[cosines.Count / 100]:F4} mean {cosines.Average():F4}"));
    }

    private static void Measure(string name, List<string> inputs, int iterations, Action<string> action)
    {
        for (var i = 0; i < 5; i++)
        {
            action(inputs[i % inputs.Count]);
        }

        var times = new List<double>(iterations);
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action(inputs[i % inputs.Count]);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-40} p50 {times[times.Count / 2],7:F3} ms  p95 {times[(int)(times.Count * 0.95)],7:F3} ms"));
    }
}
