using System.Globalization;
using System.Text;
using DaprLlm.Safety.Classification.Evaluation;
using DaprLlm.Safety.Rules;

/// <summary>
/// Writes the rule layer's full verdict (hits, PII spans, injection score) for every text of every *.jsonl file in a
/// folder, one line per text. Two dumps taken before and after a speed change must be identical: that is how a
/// rewrite of a detector is shown to keep its behaviour on realistic text, beyond what the unit tests pin down.
/// </summary>
internal static class RuleDump
{
    public static void Run(string folder, string output)
    {
        var rules = new RuleEngine(new RuleSet
        {
            DenyTerms = ["build a bomb", "make a bomb", "credit card dump", "kill yourself", "bomb"],
            AllowTerms = ["bath bomb"],
            RegexRules = [new RegexRule("order-id", @"\bORD-\d{6}\b"), new RegexRule("ticket", @"(?i)ticket\s*#?\d+")],
        });
        using var writer = new StreamWriter(output, append: false, Encoding.UTF8);
        var rows = 0;
        foreach (var file in Directory.GetFiles(folder, "*.jsonl").Order(StringComparer.Ordinal))
        {
            foreach (var row in LabelledRow.ReadFile(file))
            {
                var verdict = rules.Evaluate(row.Text);
                var line = new StringBuilder();
                line.Append(Path.GetFileName(file)).Append('\t').Append(rows++).Append('\t')
                    .Append(verdict.InjectionScore.ToString("R", CultureInfo.InvariantCulture));
                foreach (var hit in verdict.Hits)
                {
                    line.Append(CultureInfo.InvariantCulture, $"\t{hit.Kind}:{hit.Name}:{hit.Span}:{hit.Score.ToString("R", CultureInfo.InvariantCulture)}");
                }

                foreach (var pii in verdict.Pii)
                {
                    line.Append(CultureInfo.InvariantCulture, $"\t{pii.EntityType}{pii.Span}");
                }

                // The stand-alone detector entry points the gateway and audit apps use must agree with the engine.
                if (!PiiDetector.Default.Detect(row.Text).SequenceEqual(verdict.Pii))
                {
                    line.Append("\tDETECT-MISMATCH");
                }

                writer.WriteLine(line.ToString());
            }
        }

        Console.WriteLine($"{rows} verdicts written to {output}");
    }
}
