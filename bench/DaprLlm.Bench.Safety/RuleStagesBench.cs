using System.Diagnostics;
using System.Globalization;
using DaprLlm.Safety.Rules;

/// <summary>
/// Where the rule layer's time goes: each stage and each PII recognizer on its own (µs per KB, p50/p99/aggregate),
/// on views normalized beforehand, so a stage's figure is its own work. Recognizers get a fresh collector each, so
/// spans another recognizer would have claimed first are found again: the parts add up to a little more than the whole.
/// </summary>
internal static class RuleStagesBench
{
    public static void Run(List<string> prompts, int seconds, string? only = null)
    {
        var terms = new TermMatcher(["build a bomb", "make a bomb", "credit card dump", "kill yourself"]);
        var matching = prompts.Select(p => TextNormalizer.Matching.Normalize(p)).ToList();
        var light = prompts.Select(p => TextNormalizer.Light.Normalize(p)).ToList();
        var stages = new (string Name, Action<int> Run)[]
        {
            ("normalize: matching view", i => TextNormalizer.Matching.Normalize(prompts[i])),
            ("normalize: light view", i => TextNormalizer.Light.Normalize(prompts[i])),
            ("deny terms (Aho–Corasick)", i => terms.Match(matching[i])),
            ("injection heuristics", i => InjectionHeuristics.Default.Detect(matching[i])),
            ("PII: whole detector", i => PiiDetector.Default.Detect(light[i])),
            ("PII: secrets", i => SecretRecognizer.Find(new PiiSpanCollector(light[i].Text))),
            ("PII: email", i => EmailRecognizer.Find(new PiiSpanCollector(light[i].Text))),
            ("PII: IBAN", i => IbanRecognizer.Find(new PiiSpanCollector(light[i].Text))),
            ("PII: credit card", i => CreditCardRecognizer.Find(new PiiSpanCollector(light[i].Text))),
            ("PII: US driver licence", i => UsDriverLicenseRecognizer.Find(new PiiSpanCollector(light[i].Text))),
            ("PII: US SSN", i => UsSsnRecognizer.Find(new PiiSpanCollector(light[i].Text))),
            ("PII: IP address", i => IpAddressRecognizer.Find(new PiiSpanCollector(light[i].Text))),
            ("PII: phone", i => PhoneNumberRecognizer.Find(new PiiSpanCollector(light[i].Text))),
            ("PII: street address", i => StreetAddressRecognizer.Find(new PiiSpanCollector(light[i].Text))),
            ("PII: person", i => PersonNameRecognizer.Find(new PiiSpanCollector(light[i].Text))),
        };

        stages = [.. stages.Where(s => only is null || s.Name.Contains(only, StringComparison.OrdinalIgnoreCase))];
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < Math.Min(5, seconds))
        {
            foreach (var (_, run) in stages)
            {
                for (var i = 0; i < Math.Min(500, prompts.Count); i++)
                {
                    run(i);
                }
            }
        }

        foreach (var (name, run) in stages)
        {
            var perKb = new List<double>();
            double totalUs = 0, totalKb = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                for (var i = 0; i < prompts.Count; i++)
                {
                    var start = Stopwatch.GetTimestamp();
                    run(i);
                    var us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                    var kb = prompts[i].Length * 2 / 1024.0;
                    perKb.Add(us / Math.Max(kb, 0.0625));
                    totalUs += us;
                    totalKb += kb;
                }
            }

            perKb.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-32} calls {perKb.Count,7}  µs/KB p50 {perKb[perKb.Count / 2],7:F1}  p99 {perKb[Math.Min(perKb.Count - 1, (int)(perKb.Count * 0.99))],8:F1}  aggregate {totalUs / totalKb,7:F1}"));
        }
    }
}
