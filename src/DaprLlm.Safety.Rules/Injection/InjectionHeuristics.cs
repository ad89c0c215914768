using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using System.Text.Unicode;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// Prompt-injection and jailbreak signals: instruction overrides, role-play framing, system-prompt extraction,
/// and base64 payloads that decode to such phrases. Each hit has a weight; the score combines one weight per
/// signal as a noisy-or, so independent signals add up and repeating one phrase does not.
/// </summary>
/// <remarks>
/// Phrases are matched on the <see cref="TextNormalizer.Matching"/> skeleton (lower case, look-alikes and leetspeak
/// folded), where '1' has become 'i'; that is why an 'l' in a pattern is written <c>[il]</c>.
/// </remarks>
public sealed partial class InjectionHeuristics
{
    public const string InstructionOverride = "instruction-override";
    public const string RolePlay = "role-play";
    public const string SystemPromptExtraction = "system-prompt-extraction";
    public const string EncodedPayload = "encoded-payload";

    private const double EncodedPayloadWeight = 0.8;
    private const int MaxHitsPerSignal = 16;
    private const int MaxBlobsExamined = 8;
    private const int MaxBlobChars = 16 * 1024;

    // Each phrase with words it cannot match without (one of them must occur in the skeleton). All phrases' words
    // are looked for in one vectorized search (Triggered); a phrase is tried only when one of its words is there,
    // which for ordinary prompts is rare. A triggered phrase is then tried, anchored, only where one of its start
    // words begins (every match of the pattern begins with one), not at every position of the text: the generated
    // scan of these patterns filters by first letter only, which in English prose is most positions.
    private static readonly Phrase[] Phrases =
    [
        new(InstructionOverride, 0.7, OverridePrevious(), ["ignore", "disregard", "forget", "override", "bypass", "neglect", "skip"],
            ["ignore", "disregard", "forget", "override", "bypass", "neglect", "skip"]),
        new(InstructionOverride, 0.7, ForgetEverything(), ["ignore", "disregard", "forget"], ["ignore", "disregard", "forget"]),
        new(InstructionOverride, 0.4, NewInstructions(), [":"], ["your", "new", "updated", "real", "reai"]),
        new(RolePlay, 0.6, YouAreNow(), ["dan", "stan", "unfi", "unrestricted", "uncensored", "unbound", "amora", "evi", "mode", "jai", "freed", "onger"], ["you"]),
        new(RolePlay, 0.6, ActAs(), ["dan", "unfi", "unrestricted", "uncensored", "jai", "evi", "amora"], ["act", "behave", "respond", "pretend", "role"]),
        new(RolePlay, 0.8, DoAnythingNow(), ["anything"], ["do"]),
        new(RolePlay, 0.6, ModeSwitch(), ["mode"], ["deve", "god", "jai", "dan"]),
        new(RolePlay, 0.4, WithoutRestrictions(), ["without"], ["without"]),
        new(SystemPromptExtraction, 0.7, RevealSystemPrompt(), ["prompt", "instruction", "message", "above"],
            ["repeat", "reve", "show", "print", "output", "disp", "dump", "disc", "leak", "ieak", "tell", "teli", "teil", "teii",
             "give", "write", "recite", "spe", "what"]),
    ];

    // Whitespace between words may be any \s in the patterns, so triggers are single words (or a single char).
    // Words: every distinct trigger word with the phrases it unlocks (bit i = Phrases[i]); ':' is found on its own,
    // a single-char search being faster than a needle in the multi-word one.
    private static readonly (string Word, int Phrases)[] TriggerWords = Phrases
        .SelectMany(static (p, i) => p.Triggers.Where(static w => w != ":").Select(w => (Word: w, Bit: 1 << i)))
        .GroupBy(static t => t.Word, StringComparer.Ordinal)
        .Select(static g => (g.Key, g.Aggregate(0, static (bits, t) => bits | t.Bit)))
        .ToArray();

    // The trigger words by first char (all lower-case ASCII): an occurrence is compared with the few words that can start there.
    private static readonly (string Word, int Phrases)[][] TriggerWordsByFirstChar = [.. Enumerable.Range(0, 128)
        .Select(static c => TriggerWords.Where(t => t.Word[0] == c).ToArray())];

    private static readonly int ColonPhrases = Phrases
        .Select(static (p, i) => p.Triggers.Contains(":") ? 1 << i : 0)
        .Aggregate(0, static (bits, bit) => bits | bit);

    private static readonly int WordPhrases = TriggerWords.Aggregate(0, static (bits, t) => bits | t.Phrases);

    private static readonly SearchValues<string> AnyTriggerWord =
        SearchValues.Create([.. TriggerWords.Select(static t => t.Word)], StringComparison.Ordinal);

    // The base64 alphabets (standard and URL-safe); a blob is a run of at least MinBlobChars of them.
    private const int MinBlobChars = 24;

    /// <summary>Each phrase's name, weight and unanchored pattern, in the order they are tried (for tests).</summary>
    internal static IEnumerable<(string Name, double Weight, string Pattern)> PhrasePatterns =>
        Phrases.Select(static p => (p.Name, p.Weight, p.Pattern));

    /// <summary>The shared instance; it holds no per-request state.</summary>
    public static InjectionHeuristics Default { get; } = new();

    public InjectionResult Detect(string text) => Detect(TextNormalizer.Matching.Normalize(text));

    /// <summary>Signals in <paramref name="text"/>, which must come from <see cref="TextNormalizer.Matching"/>.</summary>
    public InjectionResult Detect(NormalizedText text)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<RuleHit>? hits = null;
        var triggered = Triggered(text.Text);
        for (var p = 0; p < Phrases.Length; p++)
        {
            if ((triggered & (1 << p)) == 0)
            {
                continue;
            }

            var phrase = Phrases[p];
            var count = 0;
            var position = 0;
            while (count < MaxHitsPerSignal && phrase.Next(text.Text, position) is (var start, var length))
            {
                (hits ??= []).Add(new RuleHit(RuleKind.Injection, phrase.Name, text.ToOriginal(start, start + length), phrase.Weight));
                count++;
                position = start + length;
            }
        }

        FindEncodedPayloads(text.Original, ref hits);
        return hits is null ? InjectionResult.None : new InjectionResult(hits, Combine(hits));
    }

    private static void FindEncodedPayloads(string original, ref List<RuleHit>? hits)
    {
        if (!HasLongBase64Run(original))
        {
            return;
        }

        var examined = 0;
        foreach (var match in Base64Blob().EnumerateMatches(original))
        {
            if (++examined > MaxBlobsExamined)
            {
                break; // a text made of blobs is bounded work, not a way to slow the service down
            }

            var length = match.Length;
            if (length > MaxBlobChars)
            {
                length = MaxBlobChars - (MaxBlobChars % 4);
            }

            var decoded = Base64Text.TryDecode(original.AsSpan(match.Index, length));
            if (decoded is null || !Utf8.IsValid(decoded))
            {
                continue;
            }

            var inner = Encoding.UTF8.GetString(decoded);
            if (!IsMostlyText(inner) || !ContainsPhrase(TextNormalizer.Matching.Normalize(inner).Text))
            {
                continue;
            }

            (hits ??= []).Add(new RuleHit(RuleKind.Injection, EncodedPayload, new TextSpan(match.Index, match.Index + match.Length), EncodedPayloadWeight));
        }
    }

    // A necessary condition of Base64Blob. A run of MinBlobChars alphabet chars covers one of every MinBlobChars
    // consecutive positions, so only those positions are probed, and a run is measured only around a probe inside
    // one: ordinary prose (short words) costs a char test per few positions instead of two searches per word.
    private static bool HasLongBase64Run(ReadOnlySpan<char> text)
    {
        var probe = MinBlobChars - 1;
        while (probe < text.Length)
        {
            if (!IsBase64Char(text[probe]))
            {
                probe += MinBlobChars; // a run after the probe covers the position MinBlobChars on
                continue;
            }

            var start = probe;
            while (start > 0 && IsBase64Char(text[start - 1]))
            {
                start--;
            }

            var end = probe + 1;
            while (end < text.Length && IsBase64Char(text[end]))
            {
                end++;
            }

            if (end - start >= MinBlobChars)
            {
                return true;
            }

            probe = end + MinBlobChars; // text[end] is outside the alphabet: the next run starts after it
        }

        return false;
    }

    // The alphabets as a test the JIT inlines: a SearchValues<char>.Contains is a virtual call, made several times per probe.
    private static bool IsBase64Char(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '_' or '-';

    private static bool ContainsPhrase(string normalized)
    {
        var triggered = Triggered(normalized);
        for (var p = 0; p < Phrases.Length; p++)
        {
            if ((triggered & (1 << p)) != 0 && Phrases[p].Next(normalized, 0) is not null)
            {
                return true;
            }
        }

        return false;
    }

    // The phrases (bit i = Phrases[i]) whose trigger words occur in the text: one vectorized search for all the words,
    // stopping at each occurrence to see which words start there, until every phrase is triggered or the text ends.
    private static int Triggered(ReadOnlySpan<char> text)
    {
        var triggered = text.Contains(':') ? ColonPhrases : 0;
        var rest = text;
        while ((triggered & WordPhrases) != WordPhrases)
        {
            var at = rest.IndexOfAny(AnyTriggerWord);
            if (at < 0)
            {
                break;
            }

            rest = rest[at..];
            foreach (var (word, phrases) in TriggerWordsByFirstChar[rest[0]])
            {
                if (rest.StartsWith(word, StringComparison.Ordinal))
                {
                    triggered |= phrases;
                }
            }

            rest = rest[1..];
        }

        return triggered;
    }

    // Binary that happens to be valid UTF-8 is not a hidden prompt.
    private static bool IsMostlyText(string text)
    {
        var printable = 0;
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c) || char.IsWhiteSpace(c) || char.IsPunctuation(c) || char.IsSymbol(c))
            {
                printable++;
            }
        }

        return text.Length > 0 && printable >= text.Length * 0.9;
    }

    private static double Combine(List<RuleHit> hits)
    {
        var remaining = 1.0;
        for (var i = 0; i < hits.Count; i++)
        {
            if (SeenBefore(hits, i))
            {
                continue;
            }

            var strongest = hits[i].Score;
            for (var j = i + 1; j < hits.Count; j++)
            {
                if (hits[j].Name == hits[i].Name)
                {
                    strongest = Math.Max(strongest, hits[j].Score);
                }
            }

            remaining *= 1 - strongest;
        }

        return 1 - remaining;
    }

    private static bool SeenBefore(List<RuleHit> hits, int index)
    {
        for (var j = 0; j < index; j++)
        {
            if (hits[j].Name == hits[index].Name)
            {
                return true;
            }
        }

        return false;
    }

    internal const string OverridePreviousPattern = @"\b(?:ignore|disregard|forget|override|bypass|neglect|skip)\s+(?:(?:a[il][il]|any|every|the|your|my|of|these|those|such)\s+){0,3}(?:(?:a[il][il]|previous|prior|above|earlier|preceding|former|existing|origina[il]|initia[il]|system|deve[il]oper|safety|content)\s+){1,2}(?:instructions?|prompts?|ru[il]es|directions|guide[il]ines|directives?|commands?|constraints|restrictions|guardrai[il]s|po[il]icies|po[il]icy|programming|context|messages?|fi[il]ters?)\b";

    [GeneratedRegex(@"\G(?:" + OverridePreviousPattern + ")", RegexOptions.CultureInvariant)]
    private static partial Regex OverridePrevious();

    internal const string ForgetEverythingPattern = @"\b(?:ignore|disregard|forget)\s+(?:a[il][il]|everything)\s+(?:(?:that\s+)?you\s+(?:were|have\s+been)\s+(?:to[il]d|given)|above|before|so\s+far|ear[il]ier)\b";

    [GeneratedRegex(@"\G(?:" + ForgetEverythingPattern + ")", RegexOptions.CultureInvariant)]
    private static partial Regex ForgetEverything();

    internal const string NewInstructionsPattern = @"\b(?:your\s+)?(?:new|updated|rea[il])\s+(?:instructions|ru[il]es|task)\s*(?:are|is)?\s*:";

    [GeneratedRegex(@"\G(?:" + NewInstructionsPattern + ")", RegexOptions.CultureInvariant)]
    private static partial Regex NewInstructions();

    internal const string YouAreNowPattern = @"\byou\s+are\s+(?:now\s+)?(?:dan|stan|an?\s+(?:unfi[il]tered|unrestricted|uncensored|unbound|amora[il]|evi[il])|in\s+(?:deve[il]oper|god|jai[il]break|dan)\s+mode|jai[il]broken|freed|no\s+[il]onger\s+(?:bound|restricted|an\s+ai))\b";

    [GeneratedRegex(@"\G(?:" + YouAreNowPattern + ")", RegexOptions.CultureInvariant)]
    private static partial Regex YouAreNow();

    internal const string ActAsPattern = @"\b(?:act|behave|respond|pretend|roleplay|role-?p[il]ay)\s+(?:as|[il]ike|to\s+be|that\s+you\s+are)\s+(?:an?\s+)?(?:dan|unfi[il]tered|unrestricted|uncensored|jai[il]broken|evi[il]|amora[il])\b";

    [GeneratedRegex(@"\G(?:" + ActAsPattern + ")", RegexOptions.CultureInvariant)]
    private static partial Regex ActAs();

    internal const string DoAnythingNowPattern = @"\bdo\s+anything\s+now\b";

    [GeneratedRegex(@"\G(?:" + DoAnythingNowPattern + ")", RegexOptions.CultureInvariant)]
    private static partial Regex DoAnythingNow();

    internal const string ModeSwitchPattern = @"\b(?:deve[il]oper|god|jai[il]break|dan)\s+mode\b";

    [GeneratedRegex(@"\G(?:" + ModeSwitchPattern + ")", RegexOptions.CultureInvariant)]
    private static partial Regex ModeSwitch();

    internal const string WithoutRestrictionsPattern = @"\bwithout\s+(?:any\s+)?(?:restrictions|fi[il]ters|censorship|[il]imitations|(?:ethica[il]|mora[il])\s+guide[il]ines)\b";

    [GeneratedRegex(@"\G(?:" + WithoutRestrictionsPattern + ")", RegexOptions.CultureInvariant)]
    private static partial Regex WithoutRestrictions();

    internal const string RevealSystemPromptPattern = @"\b(?:repeat|revea[il]|show|print|output|disp[il]ay|dump|disc[il]ose|[il]eak|te[il][il]\s+me|give\s+me|write\s+out|recite|spe[il][il]\s+out|what\s+(?:is|are|was|were))\s+(?:(?:me|us|your|the|a[il][il]|of|fu[il][il]|exact|entire|comp[il]ete|verbatim)\s+){0,4}(?:system\s+(?:prompt|message|instructions?)|(?:initia[il]|origina[il]|hidden|secret|first|deve[il]oper)\s+(?:prompt|instructions?|message)|instructions\s+(?:you\s+were\s+given|above)|(?:text|words|everything)\s+above|pre-?prompt|your\s+instructions)\b";

    [GeneratedRegex(@"\G(?:" + RevealSystemPromptPattern + ")", RegexOptions.CultureInvariant)]
    private static partial Regex RevealSystemPrompt();

    /// <summary>One phrase pattern, anchored with <c>\G</c>, with its trigger words and the words its matches start with.</summary>
    private sealed class Phrase(string name, double weight, Regex anchored, string[] triggers, string[] starts)
    {
        private readonly SearchValues<string> _starts = SearchValues.Create(starts, StringComparison.Ordinal);

        public string Name { get; } = name;

        public double Weight { get; } = weight;

        public string[] Triggers { get; } = triggers;

        public string Pattern => anchored.ToString()[@"\G(?:".Length..^1];

        /// <summary>
        /// The unanchored pattern's next match at or after <paramref name="from"/>: the leftmost start where the
        /// anchored pattern matches, and a match can only start where a start word does. Lookbehind and \b see the
        /// whole text, so a match found at a start is the one the unanchored scan would find there.
        /// </summary>
        public (int Start, int Length)? Next(string text, int from)
        {
            var span = text.AsSpan();
            while (from < span.Length)
            {
                var at = span[from..].IndexOfAny(_starts);
                if (at < 0)
                {
                    return null;
                }

                at += from;
                var matches = anchored.EnumerateMatches(span, at);
                if (matches.MoveNext())
                {
                    return (matches.Current.Index, matches.Current.Length);
                }

                from = at + 1;
            }

            return null;
        }
    }

    // Long runs of the base64 alphabets (standard and URL-safe), optionally padded.
    [GeneratedRegex(@"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/_\-]{24,}={0,2}(?![A-Za-z0-9+/=_\-])", RegexOptions.CultureInvariant)]
    private static partial Regex Base64Blob();
}
