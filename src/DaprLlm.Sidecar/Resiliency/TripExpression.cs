using System.Globalization;

namespace DaprLlm.Sidecar.Resiliency;

/// <summary>The counts a circuit breaker keeps (gobreaker's Counts, as daprd exposes them to trip expressions).</summary>
public readonly record struct BreakerCounts(long Requests, long TotalSuccesses, long TotalFailures, long ConsecutiveSuccesses, long ConsecutiveFailures);

/// <summary>
/// A circuit breaker trip condition. daprd evaluates a CEL expression; the subset used in practice is
/// comparisons of the count variables with integers combined with &amp;&amp;, || and parentheses
/// ("consecutiveFailures >= 3", "requests > 10 &amp;&amp; totalFailures > 5"), which is what this parses.
/// </summary>
public sealed class TripExpression
{
    private static readonly string[] Variables = ["requests", "totalSuccesses", "totalFailures", "consecutiveSuccesses", "consecutiveFailures"];
    private readonly Func<BreakerCounts, bool> _evaluate;

    private TripExpression(string text, Func<BreakerCounts, bool> evaluate)
    {
        Text = text;
        _evaluate = evaluate;
    }

    public string Text { get; }

    public bool Evaluate(BreakerCounts counts) => _evaluate(counts);

    public override string ToString() => Text;

    public static TripExpression Parse(string text, string where)
    {
        var parser = new Parser(text, where);
        var evaluate = parser.ParseOr();
        parser.ExpectEnd();
        return new TripExpression(text, evaluate);
    }

    private sealed class Parser(string text, string where)
    {
        private int _pos;

        public Func<BreakerCounts, bool> ParseOr()
        {
            var left = ParseAnd();
            while (Accept("||"))
            {
                var l = left;
                var r = ParseAnd();
                left = c => l(c) || r(c);
            }

            return left;
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_pos != text.Length)
            {
                throw Error($"unexpected '{text[_pos..]}'");
            }
        }

        private Func<BreakerCounts, bool> ParseAnd()
        {
            var left = ParseComparison();
            while (Accept("&&"))
            {
                var l = left;
                var r = ParseComparison();
                left = c => l(c) && r(c);
            }

            return left;
        }

        private Func<BreakerCounts, bool> ParseComparison()
        {
            if (Accept("("))
            {
                var inner = ParseOr();
                if (!Accept(")"))
                {
                    throw Error("missing ')'");
                }

                return inner;
            }

            var left = ParseOperand();
            var op = new[] { ">=", "<=", "==", "!=", ">", "<" }.FirstOrDefault(Accept) ?? throw Error("expected a comparison (>, >=, <, <=, ==, !=)");
            var right = ParseOperand();
            return op switch
            {
                ">=" => c => left(c) >= right(c),
                "<=" => c => left(c) <= right(c),
                "==" => c => left(c) == right(c),
                "!=" => c => left(c) != right(c),
                ">" => c => left(c) > right(c),
                _ => c => left(c) < right(c),
            };
        }

        private Func<BreakerCounts, long> ParseOperand()
        {
            SkipSpace();
            var start = _pos;
            while (_pos < text.Length && char.IsLetterOrDigit(text[_pos]))
            {
                _pos++;
            }

            var token = text[start.._pos];
            if (long.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                return _ => number;
            }

            return token switch
            {
                "requests" => c => c.Requests,
                "totalSuccesses" => c => c.TotalSuccesses,
                "totalFailures" => c => c.TotalFailures,
                "consecutiveSuccesses" => c => c.ConsecutiveSuccesses,
                "consecutiveFailures" => c => c.ConsecutiveFailures,
                "" => throw Error("expected a variable or a number"),
                _ => throw Error($"unknown variable '{token}' (known: {string.Join(", ", Variables)})"),
            };
        }

        private bool Accept(string token)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _pos, token, 0, token.Length) == 0)
            {
                _pos += token.Length;
                return true;
            }

            return false;
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        private FormatException Error(string problem) => new($"{where}: invalid trip expression '{text}': {problem}");
    }
}
