using System.Buffers;
using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// STREET_ADDRESS: a house number with a street type ("221 Baker Street"), a street prefix with a number
/// ("Via Roma 131", "Rue de la Gare"), a street name and number ("Ziegelgasse 19"), post boxes, military mail and
/// "the corner of X and Y", each extended over following apartment/suite, city, country and postcode parts.
/// A name-and-number candidate needs a last word that is no common English word ("during 1971" is not an address).
/// </summary>
internal static partial class StreetAddressRecognizer
{
    private static readonly string[] NotAddressWords =
    [
        "during", "in", "since", "year", "years", "page", "chapter", "version", "room", "level", "about", "over", "under", "top", "of",
        "at", "to", "and", "or", "the", "on", "for", "from", "with", "by", "after", "before", "around", "than", "was", "is", "are", "be",
        "age", "aged", "number", "no", "nr", "floor", "till", "until", "between", "episode", "season", "part", "grade", "class", "step",
        "day", "days", "week", "weeks", "month", "months", "hour", "hours", "minute", "minutes", "it's", "its",
    ];

    [GeneratedRegex(@"(?:\b\d{2,6}[ \t]+)?\b\d{1,6}[ \t]+(?:\p{L}[\p{L}\p{N}'.\-]*[ \t]+){0,4}(?:" + NumberedStreetTypes + @")\b\.?(?:(?:,?[ \t]*\n?[ \t]*|[ \t]+)(?:Apt\.|Suite|Unit|Flat)[ \t]*\d+)*(?:(?:,[ \t]*|[ \t]*\n[ \t]*)[\p{Lu}\p{N}(][^\n,?!;:]{0,40}){0,3}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex NumberedStreet();

    [GeneratedRegex(@"\b(?:P\.?O\.?[ \t]+Box|Postbox)[ \t]+\d{1,6}(?:(?:,?[ \t]*\n?[ \t]*|[ \t]+)(?:Apt\.|Suite|Unit|Flat)[ \t]*\d+)*(?:(?:,[ \t]*|[ \t]*\n[ \t]*)[\p{Lu}\p{N}(][^\n,?!;:]{0,40}){0,3}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex PostBox();

    [GeneratedRegex(@"\G(?:(?i)\b(?:(?:\d{1,6}[ \t]+)?\d{1,6}[ \t]+)?(?:Rue|Via|Viale|Ul\.|út|utca|tér|tee|Piazza|Calle|Avenida|Rua|Rúa|Paseo|Plaza|Ulica|Pod|Carrer|Corso|Largo|Strada|Chemin|Boulevard|Quai|Allée|Praça|Travessa|Camino|Ronda|Passeig|Plac|Aleja|Náměstí|Ulitsa|Odos|Leoforos|Sokak|Cadde|Rruga)[ \t]+(?:\p{L}[\p{L}\p{N}'.\-]*[ \t]+){0,4}(?:\d{1,5}\b|\p{L}[\p{L}\p{N}'.\-]*)(?:(?:,?[ \t]*\n?[ \t]*|[ \t]+)(?:Apt\.|Suite|Unit|Flat)[ \t]*\d+)*(?:(?:,[ \t]*|[ \t]*\n[ \t]*)[\p{Lu}\p{N}(][^\n,?!;:]{0,40}){0,3})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex StreetPrefix();

    [GeneratedRegex(@"\G(?:(?i)\b(?:(?:USNS|USNV|USS|USCGC)[ \t]+\p{L}+|(?:Unit|PSC)[ \t]+\d{4},?[ \t]+Box[ \t]+\d{4})(?:[ \t]*\n[ \t]*|,[ \t]*)[AFD]PO[ \t]+A[AEP][ \t]+\d{5})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex Military();

    [GeneratedRegex(@"\bthe corner of [^\n.?!]{3,60}? and (?:\p{L}[\p{L}\p{N}'.\-]*[ \t]?){1,3}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex Corner();

    [GeneratedRegex(@"\G(?:\b(?:\d{2,6}[ \t]+)?(?:\p{L}[\p{L}\p{N}'.\-]*[ \t]+){0,3}(?<last>\p{L}[\p{L}\p{N}'.\-]*)[ \t]+\d{1,5}\b\.?(?:(?:,?[ \t]*\n?[ \t]*|[ \t]+)(?:Apt\.|Suite|Unit|Flat)[ \t]*\d+)*(?:(?:,[ \t]*|[ \t]*\n[ \t]*)[\p{Lu}\p{N}(][^\n,?!;:]{0,40}){0,3})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex NameAndNumber();

    [GeneratedRegex(@"(?:stra(?:ss|ß)e|gasse|weg|vej|v[äa]gen|gatan|gata|kuja|tie|katu|allee|platz|laan|straat|veien|vegen|utca|ulica|iela|gade|steig|ring|damm|markt|torg|stig|polku|kaari|rinne|bakken|lia|svingen|braut|stræti|gata)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex EuropeanStreetWord();

    [GeneratedRegex(@"\p{L}[\p{L}\p{N}'.\-]*", RegexOptions.CultureInvariant)]
    private static partial Regex Word();

    // The prefix pattern's street words: it cannot match without one of them at a word start, followed by a blank.
    internal static readonly string[] StreetPrefixWords =
    [
        "Rue", "Via", "Viale", "Ul.", "utca", "tee", "Piazza", "Calle", "Avenida", "Rua", "Paseo", "Plaza", "Ulica", "Pod", "Carrer", "Corso", "Largo",
        "Strada", "Chemin", "Boulevard", "Quai", "Travessa", "Camino", "Ronda", "Passeig", "Plac", "Aleja", "Ulitsa", "Odos", "Leoforos", "Sokak",
        "Cadde", "Rruga", "út", "tér", "Rúa", "Allée", "Praça", "Náměstí",
    ];

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> StreetPrefixLookup =
        StreetPrefixWords.ToFrozenSet(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly int MinStreetPrefix = StreetPrefixWords.Min(static w => w.Length);
    private static readonly int MaxStreetPrefix = StreetPrefixWords.Max(static w => w.Length);

    // Which two ASCII chars can end a street word (lower case, bit per pair), and per ASCII first and last char the
    // lengths a street word with them has (bit n: length n): most words before a blank fail one of these checks and
    // cost no back-scan or hash lookup. A non-ASCII char always goes on ('ſ' equals 's' ignoring case).
    private static readonly bool[] StreetPrefixEnds = Ends();
    private static readonly ushort[] StreetPrefixLengths = Lengths();

    private static bool[] Ends()
    {
        var table = new bool[128 * 128];
        foreach (var word in StreetPrefixWords.Where(static w => char.IsAscii(w[^2]) && char.IsAscii(w[^1])))
        {
            table[(char.ToLowerInvariant(word[^2]) * 128) + char.ToLowerInvariant(word[^1])] = true;
        }

        return table;
    }

    private static ushort[] Lengths()
    {
        var table = new ushort[128 * 128];
        foreach (var word in StreetPrefixWords.Where(static w => char.IsAscii(w[0]) && char.IsAscii(w[^1])))
        {
            table[(char.ToLowerInvariant(word[0]) * 128) + char.ToLowerInvariant(word[^1])] |= (ushort)(1 << word.Length);
        }

        return table;
    }

    private static char LowerAscii(char c) => c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c;

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> NotAddress =
        NotAddressWords.ToFrozenSet(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    // A prefix pattern match starts at most two house-number tokens before its prefix word.
    private static readonly AnchoredMatches StreetPrefixNear = new(
        StreetPrefix(), NextStreetPrefix, static (text, anchor) => AnchoredMatches.TokensBefore(text, anchor, 2));

    // A name-and-number match ends its street part in "[ \t]+\d": it starts at most five tokens before that digit.
    private static readonly AnchoredMatches NameAndNumberNear = new(
        NameAndNumber(), NextDigitAfterBlank, static (text, anchor) => AnchoredMatches.TokensBefore(text, anchor, 5));

    // The numbered-street pattern cannot match without one of its street types right after a blank. The types are
    // searched for in one vectorized pass before the pattern runs; a type that starts with a shorter one ("Street"
    // and "St") needs no needle of its own. Case-sensitive, like the pattern.
    private static readonly SearchValues<string> StreetTypeWords = SearchValues.Create(
        [.. PrefixFree(NumberedStreetTypes.Split('|')).SelectMany(static w => new[] { " " + w, "\t" + w })], StringComparison.Ordinal);

    private const string NumberedStreetTypes = "Alley|Avenue|Ave|Branch|Bridge|Brook|Brooks|Burg|Bypass|Camp|Canyon|Cape|Causeway|Center|Circle|Cir|Cliff|Cliffs|Close|Club|Common|Corner|Course|Court|Courts|Ct|Cove|Coves|Creek|Crescent|Crest|Crossing|Crossroad|Dale|Dam|Divide|Drive|Drives|Dr|Estate|Estates|Expressway|Extension|Extensions|Fall|Falls|Ferry|Field|Fields|Flat|Flats|Ford|Forest|Forge|Fork|Fort|Freeway|Garden|Gardens|Gateway|Glen|Green|Grove|Harbor|Haven|Heights|Highway|Hwy|Hill|Hills|Hollow|Inlet|Island|Islands|Isle|Junction|Key|Knoll|Knolls|Lake|Lakes|Land|Landing|Lane|Ln|Light|Lights|Loaf|Lock|Locks|Lodge|Loop|Mall|Manor|Meadow|Meadows|Mews|Mill|Mills|Mission|Motorway|Mount|Mountain|Neck|Orchard|Oval|Overpass|Park|Parks|Parkway|Pass|Path|Pike|Pine|Pines|Place|Pl|Plain|Plains|Plaza|Point|Points|Port|Prairie|Radial|Ramp|Ranch|Rapid|Rapids|Rest|Ridge|River|Road|Rd|Route|Row|Run|Shoal|Shore|Shores|Skyway|Spring|Springs|Spur|Square|Squares|Sq|Station|Stravenue|Stream|Street|St|Str|Summit|Terrace|Throughway|Trace|Track|Trafficway|Trail|Tunnel|Turnpike|Underpass|Union|Valley|Viaduct|View|Village|Ville|Vista|Walk|Wall|Way|Well|Wells";

    private static IEnumerable<string> PrefixFree(string[] words) =>
        words.Where(w => !words.Any(other => other.Length < w.Length && w.StartsWith(other, StringComparison.Ordinal)));

    private static readonly SearchValues<string> MilitaryWords = SearchValues.Create(["USNS", "USNV", "USS", "USCGC", "Unit", "PSC"], StringComparison.OrdinalIgnoreCase);

    // Military addresses start with the ship prefix or "Unit"/"PSC".
    private static readonly AnchoredMatches MilitaryNear = new(
        Military(), static (text, from) => NextIndexOfAny(text, from, MilitaryWords), static (_, anchor) => anchor);

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        var span = text.AsSpan();
        // Every pattern but the prefix and corner ones needs a digit; most prose has none and skips them all.
        var hasDigit = found.HasDigit;
        if (hasDigit)
        {
            AddAll(found, text, MilitaryNear.Matches(text));
            AddCorners(found, text, span);
            if (span.IndexOfAny(StreetTypeWords) >= 0)
            {
                AddAll(found, text, Matches(NumberedStreet(), text));
            }
            if (span.Contains("Box", StringComparison.Ordinal) || span.Contains("Postbox", StringComparison.Ordinal))
            {
                AddAll(found, text, Matches(PostBox(), text));
            }
        }

        AddAll(found, text, StreetPrefixNear.Matches(text));
        if (!hasDigit)
        {
            // With a digit the corners were added above, before the numbered streets; a second pass would only
            // offer the same spans again, which the collector refuses.
            AddCorners(found, text, span);
            return;
        }

        foreach (var match in NameAndNumberNear.Matches(text))
        {
            var lastGroup = match.Groups["last"];
            var last = lastGroup.ValueSpan;
            var firstWord = Word().Match(text, match.Index, lastGroup.Index + last.Length - match.Index);
            if (NameLexicon.IsCommon(last.TrimEnd('.')) || NotAddress.Contains(last)
                || !(char.IsUpper(last[0]) || EuropeanStreetWord().IsMatch(last))
                || (firstWord.Success && NotAddress.Contains(firstWord.ValueSpan)))
            {
                continue;
            }

            // "Trivo lives on Grössgstötten 50": the address starts after the last ordinary word before the street name.
            var start = match.Index;
            var before = span[match.Index..lastGroup.Index];
            foreach (var word in Word().EnumerateMatches(before))
            {
                var value = before.Slice(word.Index, word.Length);
                if (NameLexicon.IsCommon(value.TrimEnd('.')) || NotAddress.Contains(value))
                {
                    start = match.Index + word.Index + word.Length;
                }
            }

            while (start < match.Index + match.Length && text[start] is ' ' or '\t')
            {
                start++;
            }

            Add(found, text, start, match.Index + match.Length);
        }
    }

    // "the corner of 25 Dili Gianni Street and King Forges" is one address: found before its numbered street part.
    private static void AddCorners(PiiSpanCollector found, string text, ReadOnlySpan<char> span)
    {
        if (span.Contains("the corner of ", StringComparison.Ordinal))
        {
            AddAll(found, text, Matches(Corner(), text));
        }
    }

    private static void AddAll(PiiSpanCollector found, string text, IEnumerable<Match> matches)
    {
        foreach (var match in matches)
        {
            Add(found, text, match.Index, match.Index + match.Length);
        }
    }

    /// <summary>
    /// The first position at or after <paramref name="from"/> where a street prefix word (ignoring case) starts a
    /// word and a blank follows it; -1 if none. The pattern has \b before the word, so an occurrence inside a longer
    /// word ("committee ") is no anchor.
    /// </summary>
    /// <remarks>
    /// Walks the blanks and looks up the word before each (checks of its last two chars, then of its first and last
    /// char with its length, then one hash lookup)
    /// instead of a case-insensitive search for all 78 word-and-blank needles: the needles' many false candidates in
    /// ordinary prose each cost a case-insensitive comparison, and the non-ASCII ones a search that is not vectorized.
    /// Same answer: a word start is a position after no letter or digit, and every char that equals a letter of
    /// these words ignoring case is itself a letter, so the letters and digits right before a blank (with the
    /// final '.' of "Ul.") are the only word that can end there.
    /// </remarks>
    internal static int NextStreetPrefix(string text, int from)
    {
        var ends = StreetPrefixEnds;
        var lengths = StreetPrefixLengths;
        // One pass over the chars (no call per blank): a blank ends a candidate word when the two chars before it can
        // end one (every word has two chars or more).
        for (var blank = Math.Max(from, MinStreetPrefix); blank < text.Length; blank++)
        {
            var c = text[blank];
            if (c != ' ' && c != '\t')
            {
                continue;
            }

            var (c1, c2) = (text[blank - 2], text[blank - 1]);
            if (c1 < 128 && c2 < 128 && !ends[(LowerAscii(c1) * 128) + LowerAscii(c2)])
            {
                continue;
            }

            var start = text[blank - 1] == '.' ? blank - 1 : blank;
            while (start > 0 && blank - start <= MaxStreetPrefix && char.IsLetterOrDigit(text[start - 1]))
            {
                start--;
            }

            var length = blank - start;
            if (start < from || length < MinStreetPrefix || length > MaxStreetPrefix)
            {
                continue;
            }

            var (head, tail) = (text[start], text[blank - 1]);
            if ((head < 128 && tail < 128 && (lengths[(LowerAscii(head) * 128) + LowerAscii(tail)] & (1 << length)) == 0)
                || !StreetPrefixLookup.Contains(text.AsSpan(start, length)))
            {
                continue;
            }

            return start;
        }

        return -1;
    }

    private static int NextIndexOfAny(string text, int from, SearchValues<string> words)
    {
        var index = text.AsSpan(from).IndexOfAny(words);
        return index < 0 ? -1 : from + index;
    }

    // The word before the number is the street name: the same test the matches get afterwards, applied before
    // the pattern runs, so "page 3" or "during 1971" cost no regex at all.
    private static bool CouldBeStreetName(string text, int digit)
    {
        var end = digit;
        while (end > 0 && text[end - 1] is ' ' or '\t')
        {
            end--;
        }

        var start = end;
        while (start > 0 && text[start - 1] is not (' ' or '\t' or '\n' or '\r'))
        {
            start--;
        }

        var word = text.AsSpan(start, end - start);
        return !word.IsEmpty && char.IsLetter(word[0])
            && !NameLexicon.IsCommon(word.TrimEnd('.')) && !NotAddress.Contains(word)
            && (char.IsUpper(word[0]) || EuropeanStreetWord().IsMatch(word));
    }

    // \d in the patterns is any Unicode decimal digit, so this looks for char.IsDigit, ASCII first.
    private static int NextDigitAfterBlank(string text, int from)
    {
        for (var i = NextDigit(text, Math.Max(from, 1)); i >= 0; i = NextDigit(text, i + 1))
        {
            if (text[i - 1] is ' ' or '\t' && CouldBeStreetName(text, i))
            {
                return i;
            }
        }

        return -1;
    }

    // The next decimal digit of any script at or after from: a vectorized jump to the next ASCII digit, and a look at
    // the non-ASCII characters before it (rare) for other scripts' digits.
    private static int NextDigit(string text, int from)
    {
        if (from >= text.Length)
        {
            return -1;
        }

        var span = text.AsSpan(from);
        var ascii = span.IndexOfAnyInRange('0', '9');
        var before = ascii < 0 ? span : span[..ascii];
        for (var offset = 0; offset < before.Length;)
        {
            var nonAscii = before[offset..].IndexOfAnyExceptInRange('\0', '\u007F');
            if (nonAscii < 0)
            {
                break;
            }

            offset += nonAscii;
            if (char.IsDigit(before[offset]))
            {
                return from + offset;
            }

            offset++;
        }

        return ascii < 0 ? -1 : from + ascii;
    }

    // Matching is bounded by the per-regex timeout: an adversarial text loses address detection, not the service.
    private static IEnumerable<Match> Matches(Regex regex, string text)
    {
        var match = Next(() => regex.Match(text));
        while (match is { Success: true })
        {
            yield return match;
            var current = match;
            match = Next(current.NextMatch);
        }
    }

    private static Match? Next(Func<Match> next)
    {
        try
        {
            return next();
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
    }

    private static void Add(PiiSpanCollector found, string text, int start, int end)
    {
        while (end > start && text[end - 1] is ' ' or ',' or '\n' or '\t' or '.')
        {
            end--;
        }

        if (end <= start)
        {
            return;
        }

        if (IsPostalBlock(text, ref start, end, out var unitLine))
        {
            AddPostalBlock(found, text, start, unitLine);
            return;
        }

        found.TryAdd(PiiEntityTypes.StreetAddress, start, end);
    }

    // A postal block laid out on its own lines ("20789 Allika 46\n Suite 501\n Riisa\n\n Estonia 62488") is reported
    // part by part: house number, street, unit and postcode, which are what identify the place. The city and country
    // lines are left alone: on their own they are not personal data under the policy (GPE). A block inside a sentence
    // ("send it to 22 Pollen Crescent\n Apt. 446 ...") stays one span; so do military addresses.
    private static bool IsPostalBlock(string text, ref int start, int end, out TextSpan unitLine)
    {
        unitLine = default;
        var lineStart = start;
        // "45818 P.O. Box 242": a house number before the matched part belongs to the block.
        var before = LeadingNumberBefore().Match(text, 0, start);
        if (before.Success)
        {
            lineStart = before.Index;
        }

        var firstBreak = text.IndexOf('\n', start);
        if (firstBreak < 0 || !StartsLine(text, lineStart) || MilitaryPostOffice().IsMatch(text.AsSpan(start, end - start)))
        {
            return false;
        }

        var lineEnd = text.IndexOf('\n', firstBreak + 1);
        var line = TrimBlanks(text, firstBreak + 1, lineEnd < 0 ? text.Length : lineEnd);
        while (line.Start < line.End && !char.IsLetterOrDigit(text[line.Start]))
        {
            line = line with { Start = line.Start + 1 }; // "??? Suite 292", "> Apt. 12": quoting before the unit
        }

        unitLine = line;
        if (!UnitLine().IsMatch(text.AsSpan(line.Start, line.Length)))
        {
            return false;
        }

        start = lineStart;
        return true;
    }

    private static void AddPostalBlock(PiiSpanCollector found, string text, int start, TextSpan unitLine)
    {
        var firstLine = TrimBlanks(text, start, text.IndexOf('\n', start));
        var street = firstLine;
        var number = LeadingNumber().Match(text, firstLine.Start, firstLine.Length);
        if (number.Success && number.Index == firstLine.Start && number.Length < firstLine.Length)
        {
            found.TryAdd(PiiEntityTypes.StreetAddress, number.Groups[1].Index, number.Groups[1].Index + number.Groups[1].Length);
            street = TrimBlanks(text, number.Index + number.Length, firstLine.End);
        }

        found.TryAdd(PiiEntityTypes.StreetAddress, street.Start, street.End);
        found.TryAdd(PiiEntityTypes.StreetAddress, unitLine.Start, unitLine.End);

        // The postcode closes the block, within the next three lines ("\n Riisa\n\n Estonia 62488").
        var searchEnd = unitLine.End;
        for (var lines = 0; lines < 3 && searchEnd < text.Length; lines++)
        {
            var next = text.IndexOf('\n', searchEnd + 1);
            searchEnd = next < 0 ? text.Length : next;
        }

        var postcode = Next(() => PostcodeLine().Match(text, unitLine.End, searchEnd - unitLine.End));
        if (postcode is { Success: true })
        {
            var code = postcode.Groups["code"];
            found.TryAdd(PiiEntityTypes.StreetAddress, code.Index, code.Index + code.Length);
        }
    }

    private static bool StartsLine(string text, int start)
    {
        var i = start;
        while (i > 0 && text[i - 1] != '\n' && !char.IsLetterOrDigit(text[i - 1]))
        {
            i--; // "> ", "??? ", "- " before the block: quoting and bullets
        }

        return i == 0 || text[i - 1] == '\n';
    }

    private static TextSpan TrimBlanks(string text, int start, int end)
    {
        while (start < end && char.IsWhiteSpace(text[start]))
        {
            start++;
        }

        while (end > start && (char.IsWhiteSpace(text[end - 1]) || text[end - 1] == ','))
        {
            end--;
        }

        return new TextSpan(start, end);
    }

    [GeneratedRegex(@"^(?:Apt\.|Suite|Unit|Flat)[ \t]*\d+$", RegexOptions.CultureInvariant)]
    private static partial Regex UnitLine();

    [GeneratedRegex(@"(\d{1,6})[ \t]+(?=\S)", RegexOptions.CultureInvariant)]
    private static partial Regex LeadingNumber();

    // A line whose first digits are the code, after a blank. No separate loop for the line's leading blanks: they
    // are non-digits too, and the two loops split a long blank run every way (quadratic on 150,000 spaces).
    [GeneratedRegex(@"\n[^\n\d]*?[ \t](?<code>\d{4,6})[ \t]*(?:\n|$)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex PostcodeLine();

    [GeneratedRegex(@"\d{1,6}[ \t]+\G", RegexOptions.CultureInvariant | RegexOptions.RightToLeft)]
    private static partial Regex LeadingNumberBefore();

    [GeneratedRegex(@"\b[AFD]PO[ \t]+A[AEP]\b", RegexOptions.CultureInvariant)]
    private static partial Regex MilitaryPostOffice();
}
