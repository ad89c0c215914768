using System.Buffers;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// Finds deny terms in one Aho–Corasick pass over the normalized text, on whole words; an allow term that
/// overlaps a deny hit suppresses it ("bath bomb" allowed, "bomb" denied). Built once, then shared by all requests.
/// </summary>
public sealed class TermMatcher
{
    private readonly TextNormalizer _normalizer;
    private readonly bool _foldLToI;
    private readonly Term[] _terms;
    private readonly Dictionary<long, int> _next;
    private readonly int[] _rootNext; // the root's moves on ASCII chars (-1: none): most moves are from the root
    private readonly int[] _fail;
    private readonly int[][] _outputs;
    private readonly SearchValues<char> _firstChars;

    public TermMatcher(IEnumerable<string> denyTerms, IEnumerable<string>? allowTerms = null, TextNormalizer? normalizer = null)
    {
        ArgumentNullException.ThrowIfNull(denyTerms);
        _normalizer = normalizer ?? TextNormalizer.Matching;
        _foldLToI = (_normalizer.Folding & TextFolding.Leetspeak) != 0;

        var terms = new List<Term>();
        var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var term in denyTerms)
        {
            AddTerm(term, isAllow: false);
        }

        foreach (var term in allowTerms ?? [])
        {
            AddTerm(term, isAllow: true);
        }

        _terms = [.. terms];
        (_next, _fail, _outputs) = BuildAutomaton(_terms);
        _rootNext = new int[128];
        for (var c = 0; c < _rootNext.Length; c++)
        {
            _rootNext[c] = _next.TryGetValue(Edge(0, (char)c), out var child) ? child : -1;
        }

        _firstChars = FirstChars(_terms, _foldLToI);

        void AddTerm(string term, bool isAllow)
        {
            if (string.IsNullOrWhiteSpace(term))
            {
                throw new ArgumentException("Term lists must not contain empty or blank terms.", isAllow ? nameof(allowTerms) : nameof(denyTerms));
            }

            var key = ToKey(_normalizer.Normalize(term).Text.Trim());
            if (key.Length == 0)
            {
                throw new ArgumentException($"Term '{term}' is empty once invisible characters are removed.", isAllow ? nameof(allowTerms) : nameof(denyTerms));
            }

            if (byKey.TryGetValue(key, out var existing))
            {
                // The same term on both lists is allowed: an explicit allow is the more specific decision.
                if (isAllow)
                {
                    terms[existing] = terms[existing] with { IsAllow = true };
                }

                return;
            }

            byKey[key] = terms.Count;
            terms.Add(new Term(term, key, isAllow, IsWordChar(key[0]), IsWordChar(key[^1])));
        }
    }

    /// <summary>A matcher with no terms.</summary>
    public static TermMatcher Empty { get; } = new([]);

    public int TermCount => _terms.Length;

    /// <summary>The normalizer whose output <see cref="Match(NormalizedText)"/> expects.</summary>
    public TextNormalizer Normalizer => _normalizer;

    public IReadOnlyList<RuleHit> Match(string text) => Match(_normalizer.Normalize(text));

    /// <summary>Deny-term hits in original offsets; <paramref name="text"/> must come from <see cref="Normalizer"/>.</summary>
    public IReadOnlyList<RuleHit> Match(NormalizedText text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var chars = text.Text;
        if (_terms.Length == 0 || chars.Length == 0)
        {
            return [];
        }

        List<(int Term, int Start, int End)>? deny = null;
        List<(int Start, int End)>? allow = null;
        var state = 0;
        for (var i = 0; i < chars.Length; i++)
        {
            if (state == 0)
            {
                // At the root only a term's first letter moves the automaton: jump there in one vectorized search.
                var skip = chars.AsSpan(i).IndexOfAny(_firstChars);
                if (skip < 0)
                {
                    break;
                }

                i += skip;
            }

            var c = Key(chars[i]);
            while (true)
            {
                if (TryMove(state, c, out var next))
                {
                    state = next;
                    break;
                }

                if (state == 0)
                {
                    break;
                }

                state = _fail[state];
            }

            foreach (var index in _outputs[state])
            {
                var term = _terms[index];
                var start = i + 1 - term.Key.Length;
                var end = i + 1;
                if ((term.NeedsStartBoundary && start > 0 && IsWordChar(chars[start - 1]))
                    || (term.NeedsEndBoundary && end < chars.Length && IsWordChar(chars[end])))
                {
                    continue;
                }

                if (term.IsAllow)
                {
                    (allow ??= []).Add((start, end));
                }
                else
                {
                    (deny ??= []).Add((index, start, end));
                }
            }
        }

        if (deny is null)
        {
            return [];
        }

        var hits = new List<RuleHit>(deny.Count);
        foreach (var (index, start, end) in deny)
        {
            if (!OverlapsAny(allow, start, end))
            {
                hits.Add(new RuleHit(RuleKind.DenyTerm, _terms[index].Text, text.ToOriginal(start, end)));
            }
        }

        return hits;
    }

    private bool TryMove(int state, char c, out int next)
    {
        if (state == 0 && c < 128)
        {
            next = _rootNext[c];
            return next >= 0;
        }

        return _next.TryGetValue(Edge(state, c), out next);
    }

    private static SearchValues<char> FirstChars(Term[] terms, bool foldLToI)
    {
        var first = new HashSet<char>();
        foreach (var term in terms)
        {
            first.Add(term.Key[0]);
        }

        // Keys spell 'l' as 'i', so a text 'l' can start an 'i' term.
        if (foldLToI && first.Contains('i'))
        {
            first.Add('l');
        }

        return SearchValues.Create([.. first]);
    }

    private static bool OverlapsAny(List<(int Start, int End)>? spans, int start, int end)
    {
        if (spans is null)
        {
            return false;
        }

        foreach (var span in spans)
        {
            if (span.Start < end && start < span.End)
            {
                return true;
            }
        }

        return false;
    }

    // Leetspeak folds '1' to 'i', but "1" also stands for "l" ("ki11"); comparing 'l' and 'i' as one letter
    // on both sides catches both readings without guessing.
    private char Key(char c) => _foldLToI && c == 'l' ? 'i' : c;

    private string ToKey(string normalized) => _foldLToI ? normalized.Replace('l', 'i') : normalized;

    private static long Edge(int state, char c) => ((long)state << 16) | c;

    // Scripts written without spaces (CJK) have no word boundaries to require.
    private static bool IsWordChar(char c) => c < '\u2E80' && (char.IsLetterOrDigit(c) || c == '_');

    private static (Dictionary<long, int> Next, int[] Fail, int[][] Outputs) BuildAutomaton(Term[] terms)
    {
        var children = new List<Dictionary<char, int>> { new() };
        var outputs = new List<List<int>> { new() };
        for (var index = 0; index < terms.Length; index++)
        {
            var state = 0;
            foreach (var c in terms[index].Key)
            {
                if (!children[state].TryGetValue(c, out var child))
                {
                    child = children.Count;
                    children.Add([]);
                    outputs.Add([]);
                    children[state][c] = child;
                }

                state = child;
            }

            outputs[state].Add(index);
        }

        // Breadth-first, so a state's failure target (always shallower) already has its complete output list.
        var fail = new int[children.Count];
        var queue = new Queue<int>();
        foreach (var child in children[0].Values)
        {
            queue.Enqueue(child);
        }

        while (queue.Count > 0)
        {
            var state = queue.Dequeue();
            foreach (var (c, child) in children[state])
            {
                queue.Enqueue(child);
                var f = fail[state];
                while (f != 0 && !children[f].ContainsKey(c))
                {
                    f = fail[f];
                }

                fail[child] = state != 0 && children[f].TryGetValue(c, out var target) ? target : 0;
                outputs[child].AddRange(outputs[fail[child]]);
            }
        }

        var next = new Dictionary<long, int>();
        for (var state = 0; state < children.Count; state++)
        {
            foreach (var (c, child) in children[state])
            {
                next[Edge(state, c)] = child;
            }
        }

        return (next, fail, outputs.Select(o => o.Count == 0 ? Array.Empty<int>() : o.ToArray()).ToArray());
    }

    private sealed record Term(string Text, string Key, bool IsAllow, bool NeedsStartBoundary, bool NeedsEndBoundary);
}
