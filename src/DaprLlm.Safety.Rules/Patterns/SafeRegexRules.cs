using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// Tenant regex rules, compiled once with the non-backtracking engine so that no pattern, however pathological
/// (<c>(a+)+$</c>), can make matching slower than linear in the text; a match timeout backs that up.
/// </summary>
public sealed class SafeRegexRules
{
    /// <summary>Longest pattern accepted; bigger ones are almost always generated lists that belong in terms.</summary>
    public const int MaxPatternLength = 4096;

    /// <summary>Hits reported per rule and text; enough to act on, bounded so a broad rule cannot flood a verdict.</summary>
    public const int MaxHitsPerRule = 64;

    private const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

    private readonly (string Name, Regex Regex)[] _rules;
    private readonly TextNormalizer _normalizer;

    public SafeRegexRules(IEnumerable<RegexRule> rules, TimeSpan? matchTimeout = null, TextNormalizer? normalizer = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _normalizer = normalizer ?? TextNormalizer.Light;
        var timeout = matchTimeout ?? TimeSpan.FromSeconds(1);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var compiled = new List<(string, Regex)>();
        foreach (var rule in rules)
        {
            ArgumentNullException.ThrowIfNull(rule);
            if (string.IsNullOrWhiteSpace(rule.Name))
            {
                throw new InvalidRegexRuleException("(unnamed)", "every rule needs a name.");
            }

            if (!names.Add(rule.Name))
            {
                throw new InvalidRegexRuleException(rule.Name, "another rule has the same name.");
            }

            compiled.Add((rule.Name, Compile(rule, timeout)));
        }

        _rules = [.. compiled];
    }

    /// <summary>A rule set with no rules.</summary>
    public static SafeRegexRules Empty { get; } = new([]);

    public int Count => _rules.Length;

    /// <summary>The normalizer whose output <see cref="Match(NormalizedText)"/> expects.</summary>
    public TextNormalizer Normalizer => _normalizer;

    public IReadOnlyList<RuleHit> Match(string text) => Match(_normalizer.Normalize(text));

    public IReadOnlyList<RuleHit> Match(NormalizedText text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_rules.Length == 0)
        {
            return [];
        }

        List<RuleHit>? hits = null;
        foreach (var (name, regex) in _rules)
        {
            try
            {
                var count = 0;
                foreach (var match in regex.EnumerateMatches(text.Text))
                {
                    if (match.Length == 0)
                    {
                        continue; // "\b" and the like can match nothing somewhere; an empty span flags nothing
                    }

                    (hits ??= []).Add(new RuleHit(RuleKind.Regex, name, text.ToOriginal(match.Index, match.Index + match.Length)));
                    if (++count == MaxHitsPerRule)
                    {
                        break;
                    }
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // Fail closed: a rule that could not finish is reported over the whole text, never silently skipped.
                (hits ??= []).Add(new RuleHit(RuleKind.RegexTimeout, name, new TextSpan(0, text.Original.Length)));
            }
        }

        if (hits is null)
        {
            return [];
        }

        return hits;
    }

    private static Regex Compile(RegexRule rule, TimeSpan timeout)
    {
        if (string.IsNullOrEmpty(rule.Pattern))
        {
            throw new InvalidRegexRuleException(rule.Name, "the pattern is empty.");
        }

        if (rule.Pattern.Length > MaxPatternLength)
        {
            throw new InvalidRegexRuleException(rule.Name, $"the pattern is longer than {MaxPatternLength} characters.");
        }

        Regex regex;
        try
        {
            regex = new Regex(rule.Pattern, Options, timeout);
        }
        catch (RegexParseException e)
        {
            throw new InvalidRegexRuleException(rule.Name, $"invalid syntax at offset {e.Offset}: {e.Error}.", e);
        }
        catch (NotSupportedException e)
        {
            // The linear-time engine has no backreferences, lookarounds, atomic groups or conditionals.
            throw new InvalidRegexRuleException(rule.Name, $"uses a construct the linear-time engine does not support ({e.Message})", e);
        }
        catch (ArgumentException e)
        {
            throw new InvalidRegexRuleException(rule.Name, e.Message, e);
        }

        if (regex.IsMatch(string.Empty))
        {
            throw new InvalidRegexRuleException(rule.Name, "the pattern matches the empty string, so it would match every text.");
        }

        return regex;
    }
}
