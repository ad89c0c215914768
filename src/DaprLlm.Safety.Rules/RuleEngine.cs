namespace DaprLlm.Safety.Rules;

/// <summary>
/// Runs every rule of the layer over one text: deny/allow terms, tenant regexes, PII and injection heuristics.
/// Built once from a <see cref="RuleSet"/> (automaton and regexes compiled up front), then safe to share.
/// </summary>
public sealed class RuleEngine
{
    private readonly TermMatcher _terms;
    private readonly SafeRegexRules _regexes;
    private readonly PiiDetector _pii;
    private readonly InjectionHeuristics _injection;

    public RuleEngine(RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _terms = new TermMatcher(rules.DenyTerms, rules.AllowTerms, TextNormalizer.Matching);
        _regexes = new SafeRegexRules(rules.RegexRules, rules.RegexMatchTimeout, TextNormalizer.Light);
        _pii = PiiDetector.Default;
        _injection = InjectionHeuristics.Default;
    }

    public RuleVerdict Evaluate(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Two views, each built once: the folded skeleton for words and phrases, the NFKC view for patterns and PII.
        // Hits on the skeleton are rare, so its offset map is built only when one needs mapping back; PII spans are
        // common, so the NFKC view (the original string itself for plain ASCII) keeps its map from the start.
        var matching = TextNormalizer.Matching.Normalize(text);
        var light = TextNormalizer.Light.Normalize(text, trackOffsets: true);

        var termHits = _terms.Match(matching);
        var regexHits = _regexes.Match(light);
        var injection = _injection.Detect(matching);
        var pii = _pii.Detect(light);

        var count = termHits.Count + regexHits.Count + injection.Hits.Count;
        if (count == 0)
        {
            return new RuleVerdict([], pii, injection.Score); // most texts: no list to build and sort
        }

        var hits = new List<RuleHit>(count);
        hits.AddRange(termHits);
        hits.AddRange(regexHits);
        hits.AddRange(injection.Hits);
        hits.Sort(static (a, b) => a.Span.Start != b.Span.Start ? a.Span.Start.CompareTo(b.Span.Start) : a.Kind.CompareTo(b.Kind));
        return new RuleVerdict(hits, pii, injection.Score);
    }
}
