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
    // are looked for in one vectorized search (Triggered); a regex runs only when one of its words is there, which
    // for ordinary prompts is rare.
    private static readonly (string Name, double Weight, Regex Regex, string[] Trigger)[] Phrases =
    [
        (InstructionOverride, 0.7, OverridePrevious(), ["ignore", "disregard", "forget", "override", "bypass", "neglect", "skip"]),
        (InstructionOverride, 0.7, ForgetEverything(), ["ignore", "disregard", "forget"]),
        (InstructionOverride, 0.4, NewInstructions(), [":"]),
        (RolePlay, 0.6, YouAreNow(), ["dan", "stan", "unfi", "unrestricted", "uncensored", "unbound", "amora", "evi", "mode", "jai", "freed", "onger"]),
        (RolePlay, 0.6, ActAs(), ["dan", "unfi", "unrestricted", "uncensored", "jai", "evi", "amora"]),
        (RolePlay, 0.8, DoAnythingNow(), ["anything"]),
        (RolePlay, 0.6, ModeSwitch(), ["mode"]),
        (RolePlay, 0.4, WithoutRestrictions(), ["without"]),
        (SystemPromptExtraction, 0.7, RevealSystemPrompt(), ["prompt", "instruction", "message", "above"]),
    ];

    // Whitespace between words may be any \s in the patterns, so triggers are single words (or a single char).
    // Words: every distinct trigger word with the phrases it unlocks (bit i = Phrases[i]); ':' is found on its own,
    // a single-char search being faster than a needle in the multi-word one.
    private static readonly (string Word, int Phrases)[] TriggerWords = Phrases
        .SelectMany(static (p, i) => p.Trigger.Where(static w => w != ":").Select(w => (Word: w, Bit: 1 << i)))
        .GroupBy(static t => t.Word, StringComparer.Ordinal)
        .Select(static g => (g.Key, g.Aggregate(0, static (bits, t) => bits | t.Bit)))
        .ToArray();

    private static readonly int ColonPhrases = Phrases
        .Select(static (p, i) => p.Trigger.Contains(":") ? 1 << i : 0)
        .Aggregate(0, static (bits, bit) => bits | bit);

    private static readonly int WordPhrases = TriggerWords.Aggregate(0, static (bits, t) => bits | t.Phrases);

    private static readonly SearchValues<string> AnyTriggerWord =
        SearchValues.Create([.. TriggerWords.Select(static t => t.Word)], StringComparison.Ordinal);

    // The base64 alphabets (standard and URL-safe); a blob is a run of at least MinBlobChars of them.
    private static readonly SearchValues<char> Base64Chars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-");
    private const int MinBlobChars = 24;

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

            var (name, weight, regex, _) = Phrases[p];
            var count = 0;
            foreach (var match in regex.EnumerateMatches(text.Text))
            {
                (hits ??= []).Add(new RuleHit(RuleKind.Injection, name, text.ToOriginal(match.Index, match.Index + match.Length), weight));
                if (++count == MaxHitsPerSignal)
                {
                    break;
                }
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
            if (!Base64Chars.Contains(text[probe]))
            {
                probe += MinBlobChars; // a run after the probe covers the position MinBlobChars on
                continue;
            }

            var start = probe;
            while (start > 0 && Base64Chars.Contains(text[start - 1]))
            {
                start--;
            }

            var end = probe + 1;
            while (end < text.Length && Base64Chars.Contains(text[end]))
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

    private static bool ContainsPhrase(string normalized)
    {
        var triggered = Triggered(normalized);
        for (var p = 0; p < Phrases.Length; p++)
        {
            if ((triggered & (1 << p)) != 0 && Phrases[p].Regex.IsMatch(normalized))
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
            foreach (var (word, phrases) in TriggerWords)
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

    [GeneratedRegex(@"\b(?:ignore|disregard|forget|override|bypass|neglect|skip)\s+(?:(?:a[il][il]|any|every|the|your|my|of|these|those|such)\s+){0,3}(?:(?:a[il][il]|previous|prior|above|earlier|preceding|former|existing|origina[il]|initia[il]|system|deve[il]oper|safety|content)\s+){1,2}(?:instructions?|prompts?|ru[il]es|directions|guide[il]ines|directives?|commands?|constraints|restrictions|guardrai[il]s|po[il]icies|po[il]icy|programming|context|messages?|fi[il]ters?)\b", RegexOptions.CultureInvariant)]
    private static partial Regex OverridePrevious();

    [GeneratedRegex(@"\b(?:ignore|disregard|forget)\s+(?:a[il][il]|everything)\s+(?:(?:that\s+)?you\s+(?:were|have\s+been)\s+(?:to[il]d|given)|above|before|so\s+far|ear[il]ier)\b", RegexOptions.CultureInvariant)]
    private static partial Regex ForgetEverything();

    [GeneratedRegex(@"\b(?:your\s+)?(?:new|updated|rea[il])\s+(?:instructions|ru[il]es|task)\s*(?:are|is)?\s*:", RegexOptions.CultureInvariant)]
    private static partial Regex NewInstructions();

    [GeneratedRegex(@"\byou\s+are\s+(?:now\s+)?(?:dan|stan|an?\s+(?:unfi[il]tered|unrestricted|uncensored|unbound|amora[il]|evi[il])|in\s+(?:deve[il]oper|god|jai[il]break|dan)\s+mode|jai[il]broken|freed|no\s+[il]onger\s+(?:bound|restricted|an\s+ai))\b", RegexOptions.CultureInvariant)]
    private static partial Regex YouAreNow();

    [GeneratedRegex(@"\b(?:act|behave|respond|pretend|roleplay|role-?p[il]ay)\s+(?:as|[il]ike|to\s+be|that\s+you\s+are)\s+(?:an?\s+)?(?:dan|unfi[il]tered|unrestricted|uncensored|jai[il]broken|evi[il]|amora[il])\b", RegexOptions.CultureInvariant)]
    private static partial Regex ActAs();

    [GeneratedRegex(@"\bdo\s+anything\s+now\b", RegexOptions.CultureInvariant)]
    private static partial Regex DoAnythingNow();

    [GeneratedRegex(@"\b(?:deve[il]oper|god|jai[il]break|dan)\s+mode\b", RegexOptions.CultureInvariant)]
    private static partial Regex ModeSwitch();

    [GeneratedRegex(@"\bwithout\s+(?:any\s+)?(?:restrictions|fi[il]ters|censorship|[il]imitations|(?:ethica[il]|mora[il])\s+guide[il]ines)\b", RegexOptions.CultureInvariant)]
    private static partial Regex WithoutRestrictions();

    [GeneratedRegex(@"\b(?:repeat|revea[il]|show|print|output|disp[il]ay|dump|disc[il]ose|[il]eak|te[il][il]\s+me|give\s+me|write\s+out|recite|spe[il][il]\s+out|what\s+(?:is|are|was|were))\s+(?:(?:me|us|your|the|a[il][il]|of|fu[il][il]|exact|entire|comp[il]ete|verbatim)\s+){0,4}(?:system\s+(?:prompt|message|instructions?)|(?:initia[il]|origina[il]|hidden|secret|first|deve[il]oper)\s+(?:prompt|instructions?|message)|instructions\s+(?:you\s+were\s+given|above)|(?:text|words|everything)\s+above|pre-?prompt|your\s+instructions)\b", RegexOptions.CultureInvariant)]
    private static partial Regex RevealSystemPrompt();

    // Long runs of the base64 alphabets (standard and URL-safe), optionally padded.
    [GeneratedRegex(@"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/_\-]{24,}={0,2}(?![A-Za-z0-9+/=_\-])", RegexOptions.CultureInvariant)]
    private static partial Regex Base64Blob();
}
