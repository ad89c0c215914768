using System.Buffers;
using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// PERSON: runs of one to three capitalised words (middle initials allowed) that are not common English words,
/// places, titles or parts of an address or company name; plus lower-case names right after "my name is" and
/// similar cues. A gazetteer-free heuristic: it trades some precision on rare capitalised words for recall on
/// names from any language (measured in models/safety/MODEL_CARD.md).
/// </summary>
internal static partial class PersonNameRecognizer
{
    // Letters of any script; a name word has an upper-case first letter and at least one lower-case letter after it.
    // A word is written \p{Lu}+\p{Ll}\p{L}* (the same words as \p{Lu}[\p{Ll}\p{Lu}]*\p{Ll}\p{L}*) and its letter runs are
    // atomic: what may follow a word (a hyphen or apostrophe, a blank, the final look-ahead) is never a letter, so
    // only whole runs can match, and a run that fails ("A" + 150,000 × "b" + "1") is not retried at every split,
    // which took minutes.
    private const string CapitalisedRunPattern = @"(?<![\p{L}\p{N}@.])\p{Lu}+\p{Ll}(?>\p{L}*)(?:[-'’](?>\p{L}+))?(?:[ \t]+(?:\p{Lu}\.?[ \t]+)?\p{Lu}+\p{Ll}(?>\p{L}*)(?:[-'’](?>\p{L}+))?){0,3}(?![\p{L}\p{N}@])";

    [GeneratedRegex(CapitalisedRunPattern, RegexOptions.CultureInvariant)]
    private static partial Regex CapitalisedRun();

    // The same pattern bounded like the address patterns, for long texts. Its timeout checks made the scan about a
    // third slower (measured on shared/data), so a text short enough that even a quadratic scan would be quick
    // (99.7% of the shared/data texts) uses the pattern without.
    [GeneratedRegex(CapitalisedRunPattern, RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex CapitalisedRunBounded();

    private const int BoundedFromLength = 4096;

    [GeneratedRegex(@"\b(?:my name is|name is|i am|i'm|this is|called|named)[ \t]+(\p{Ll}[\p{Ll}'\-]+(?:[ \t]+\p{Ll}[\p{Ll}'\-]+)?)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex LowerCaseAfterCue();

    // OrdinalIgnoreCase folds at least the case pairs the pattern's invariant IgnoreCase does: a superset, as a trigger must be.
    private static readonly SearchValues<string> LowerCaseCueWords =
        SearchValues.Create(["name is", "i am", "i'm", "this is", "called", "named"], StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex(@"^[ \t]*(?:\d|(?:street|st\b|avenue|ave\b|road|rd\b|lane|drive|dr\b|blvd|boulevard|court|way|place|hill|dam|union|courts|isle|square|squares|crossroad|flats|parks?|pass|coves?|radial)\b)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex AddressAfter();

    [GeneratedRegex(@"^[ \t]*,?[ \t]*(?:inc|ltd|llc|gmbh|corp|group|plc|and\s+sons|&)\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex CompanyAfter();

    [GeneratedRegex(@"\b(?:in|from)[ \t]+$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex PlaceBefore();

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> StreetTypes = FrozenSet.ToFrozenSet(
        ["St", "Street", "Gateway", "Avenue", "Ave", "Road", "Rd", "Lane", "Drive", "Court", "Square", "Squares", "Crossroad", "Radial", "Harbor", "Parks", "Coves", "Flats", "Pass", "Union"],
        StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    // Reused per thread: the recognizer runs for every capitalised word of every prompt.
    [ThreadStatic]
    private static List<TextSpan>? t_words;

    [ThreadStatic]
    private static WordClassMemo? t_classes;

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        var words = t_words ??= new List<TextSpan>(8);
        var classes = t_classes ??= new WordClassMemo();
        try
        {
            AddCapitalisedRuns(found, text, words, classes);
        }
        catch (RegexMatchTimeoutException)
        {
            // An adversarial text loses the rest of its capitalised names, not the service's latency bound.
        }

        // Every cue of the pattern contains one of these words: without them the pattern is not run at all.
        if (text.AsSpan().IndexOfAny(LowerCaseCueWords) < 0)
        {
            return;
        }

        for (var match = LowerCaseAfterCue().Match(text); match.Success; match = match.NextMatch())
        {
            var group = match.Groups[1];
            Words(text, group.Index, group.Index + group.Length, words);
            if (words.Count == 0 || NameLexicon.IsCommon(Slice(text, words[0])))
            {
                continue;
            }

            var end = words.Count > 1 && !NameLexicon.IsCommon(Slice(text, words[1])) ? words[1].End : words[0].End;
            found.TryAdd(PiiEntityTypes.Person, words[0].Start, end);
        }
    }

    private static void AddCapitalisedRuns(PiiSpanCollector found, string text, List<TextSpan> words, WordClassMemo classes)
    {
        var pattern = text.Length > BoundedFromLength ? CapitalisedRunBounded() : CapitalisedRun();
        foreach (var match in pattern.EnumerateMatches(text))
        {
            Words(text, match.Index, match.Index + match.Length, words);
            classes.Reset(text, words);
            var first = 0;
            var last = words.Count - 1;
            while (first <= last && IsNotName(classes, first))
            {
                first++;
            }

            while (last >= first && IsNotName(classes, last))
            {
                last--;
            }

            if (first > last)
            {
                // Every word is also an ordinary word ("My name is Martin", "Mrs. Baker"): a name only after a cue.
                if (!FirstGazetteerRun(classes, words.Count, out first, out last) || !HasCueBefore(text, words[first].Start))
                {
                    continue;
                }
            }

            // A surname or given name that is also a common word ("Zoe Young", "Will Smith") stays when the
            // gazetteer knows it as a name and it sits next to the rest of the name; initials in between go with it.
            for (var j = last + 1; j < words.Count; j++)
            {
                var word = Slice(text, words[j]).TrimEnd('.');
                if (word.Length == 1 && char.IsUpper(word[0]))
                {
                    continue;
                }

                if (!classes.IsGazetteerName(j, trimDot: true))
                {
                    break;
                }

                last = j;
            }

            if (first > 0 && classes.IsGazetteerName(first - 1, trimDot: false))
            {
                first--;
            }

            var start = words[first].Start;
            var end = words[last].End;
            if (Rejected(text, words, classes, first, last, start, end)
                || (first == last && !classes.IsGazetteerName(first, trimDot: false) && !HasCueBefore(text, start)))
            {
                continue;
            }

            found.TryAdd(PiiEntityTypes.Person, start, end);
        }
    }

    private static bool FirstGazetteerRun(WordClassMemo classes, int count, out int first, out int last)
    {
        first = 0;
        while (first < count && !classes.IsGazetteerName(first, trimDot: true))
        {
            first++;
        }

        last = first;
        while (last + 1 < count && classes.IsGazetteerName(last + 1, trimDot: true))
        {
            last++;
        }

        return first < count;
    }

    // One capitalised word unknown to the gazetteer is a name only after a title or an introduction ("Dr. Okonkwo",
    // "my name is Tavita"); alone it is as likely a company, a product or a place.
    private static bool HasCueBefore(string text, int start)
    {
        var before = text.AsSpan(0, start).TrimEnd(" \t");
        var wordStart = before.LastIndexOfAny(" \t\n(\"'");
        var previous = before[(wordStart + 1)..].TrimEnd('.').TrimEnd(',');
        return NameLexicon.IsTitle(previous) || IntroductionBefore().IsMatch(CueWindow(before));
    }

    // The introduction pattern ends at the end of the text before the name ($, optionally before one final line
    // break, after blanks) and is at most MaxCueLength characters before those. Matching it on the whole prefix
    // made every capitalised word cost a scan of everything before it (quadratic in the prompt); this window gives
    // the same answer: it starts right after a non-word character, so the \b at its start means what it meant in
    // the whole prefix, and any earlier start would make the match too long.
    private const int MaxCueLength = 16; // "my name is" and a ',' or ':', with room to spare

    private static ReadOnlySpan<char> CueWindow(ReadOnlySpan<char> before)
    {
        var end = before.Length;
        if (end > 0 && before[end - 1] == '\n')
        {
            end--;
        }

        while (end > 0 && before[end - 1] is ' ' or '\t')
        {
            end--;
        }

        var from = Math.Max(0, end - MaxCueLength);
        while (from > 0 && from < before.Length && IsRegexWordChar(before[from - 1]))
        {
            from++;
        }

        return before[from..];
    }

    // What the regex engine's \b counts as a word character: \w ([\p{L}\p{Mn}\p{Nd}\p{Pc}]) and the two joiners.
    private static bool IsRegexWordChar(char c) =>
        char.IsLetterOrDigit(c)
        || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.ConnectorPunctuation
        || c is '\u200D' or '\u200C';

    [GeneratedRegex(@"(?:\b(?:my name is|name is|named|called|i am|i'm|this is|signed|regards|sincerely|cheers|thanks|dear|hi|hello|by|with|from|to|and|contact|ask|tell|meet|met|call|email)[,:]?)[ \t]*$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex IntroductionBefore();

    private static bool Rejected(string text, List<TextSpan> words, WordClassMemo classes, int first, int last, int start, int end)
    {
        var allCaps = true;
        for (var i = first; i <= last; i++)
        {
            var word = Slice(text, words[i]);
            if ((classes.Of(i, trimDot: false) & WordClass.Place) != 0 || (i > first && StreetTypes.Contains(word.TrimEnd('.'))))
            {
                return true;
            }

            allCaps &= word.Length > 1 && IsAllCaps(word);
        }

        var before = text.AsSpan(Math.Max(0, start - 8), start - Math.Max(0, start - 8));
        var after = text.AsSpan(end, Math.Min(16, text.Length - end));
        return allCaps
            || PlaceBefore().IsMatch(before)
            || (before.TrimEnd(" \t").Length > 0 && char.IsDigit(before.TrimEnd(" \t")[^1]))
            || AddressAfter().IsMatch(after)
            || CompanyAfter().IsMatch(after);
    }

    // A single capital (an initial) is kept only inside a run; common words, titles and stop words are trimmed.
    private static bool IsNotName(WordClassMemo classes, int index)
    {
        var word = classes.Word(index, trimDot: true);
        // "What's", "You're": a common word with a contraction, not a name.
        var apostrophe = word.IndexOfAny('\'', '’');
        if (apostrophe > 0 && word.Length - apostrophe <= 3)
        {
            word = word[..apostrophe];
            return word.Length < 2 || (NameLexicon.Classify(word) & (WordClass.Stop | WordClass.Title | WordClass.Common)) != 0;
        }

        return word.Length < 2 || (classes.Of(index, trimDot: true) & (WordClass.Stop | WordClass.Title | WordClass.Common)) != 0;
    }

    private static bool IsAllCaps(ReadOnlySpan<char> word)
    {
        foreach (var c in word)
        {
            if (char.IsLetter(c) && !char.IsUpper(c))
            {
                return false;
            }
        }

        return true;
    }

    private static ReadOnlySpan<char> Slice(string text, TextSpan span) => text.AsSpan(span.Start, span.Length);

    private static void Words(string text, int start, int end, List<TextSpan> words)
    {
        words.Clear();
        var i = start;
        while (i < end)
        {
            while (i < end && (text[i] == ' ' || text[i] == '\t'))
            {
                i++;
            }

            var wordStart = i;
            while (i < end && text[i] != ' ' && text[i] != '\t')
            {
                i++;
            }

            if (i > wordStart)
            {
                words.Add(new TextSpan(wordStart, i));
            }
        }
    }
}
