using System.Diagnostics;
using System.Globalization;
using DaprLlm.Safety.Rules;

/// <summary>
/// Rule layer µs per KB of UTF-16 text (p50/p99 over calls, and the aggregate over all text), whole engine and per
/// part, after a warm-up long enough for tiered JIT to settle. The baseline, measured in the same run, is one
/// lower-casing copy of each prompt: the cheapest pass any text filter makes, so the ratio says how many such passes
/// the rule layer costs on this machine at this moment.
/// </summary>
internal static class RuleLayerBench
{
    public static void Run(List<string> prompts, int seconds)
    {
        var rules = new RuleEngine(new RuleSet { DenyTerms = ["build a bomb", "make a bomb", "credit card dump", "kill yourself"] });
        var parts = new (string Name, Func<string, object> Run)[]
        {
            ("baseline: ToLowerInvariant copy", static t => t.ToLowerInvariant()),
            ("rule layer (RuleEngine.Evaluate)", t => rules.Evaluate(t)),
            ("  normalize (matching view)", static t => TextNormalizer.Matching.Normalize(t)),
            ("  injection heuristics", static t => InjectionHeuristics.Default.Detect(t)),
            ("  PII detector", static t => PiiDetector.Default.Detect(t)),
        };

        // Tiered JIT promotes hot methods after ~30 calls and a background delay: warm every part for a while.
        var warmUntil = Stopwatch.StartNew();
        while (warmUntil.Elapsed.TotalSeconds < Math.Min(5, seconds))
        {
            foreach (var (_, run) in parts)
            {
                foreach (var p in prompts.Take(500))
                {
                    run(p);
                }
            }
        }

        foreach (var (name, run) in parts)
        {
            var perKb = new List<double>();
            double totalUs = 0, totalKb = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                foreach (var p in prompts)
                {
                    var start = Stopwatch.GetTimestamp();
                    run(p);
                    var us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                    var kb = p.Length * 2 / 1024.0;
                    // Prompts under 64 bytes count as 64 bytes, so a fixed per-call cost does not explode per KB.
                    perKb.Add(us / Math.Max(kb, 0.0625));
                    totalUs += us;
                    totalKb += kb;
                }
            }

            perKb.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-36} calls {perKb.Count,7}  µs/KB p50 {perKb[perKb.Count / 2],7:F1}  p99 {perKb[Math.Min(perKb.Count - 1, (int)(perKb.Count * 0.99))],8:F1}  aggregate {totalUs / totalKb,7:F1}"));
        }
    }
}
