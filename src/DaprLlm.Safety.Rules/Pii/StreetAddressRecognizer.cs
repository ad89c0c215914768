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

    [GeneratedRegex(@"(?:\b\d{2,6}[ \t]+)?\b\d{1,6}[ \t]+(?:\p{L}[\p{L}\p{N}'.\-]*[ \t]+){0,4}(?:Alley|Avenue|Ave|Branch|Bridge|Brook|Brooks|Burg|Bypass|Camp|Canyon|Cape|Causeway|Center|Circle|Cir|Cliff|Cliffs|Close|Club|Common|Corner|Course|Court|Courts|Ct|Cove|Coves|Creek|Crescent|Crest|Crossing|Crossroad|Dale|Dam|Divide|Drive|Drives|Dr|Estate|Estates|Expressway|Extension|Extensions|Fall|Falls|Ferry|Field|Fields|Flat|Flats|Ford|Forest|Forge|Fork|Fort|Freeway|Garden|Gardens|Gateway|Glen|Green|Grove|Harbor|Haven|Heights|Highway|Hwy|Hill|Hills|Hollow|Inlet|Island|Islands|Isle|Junction|Key|Knoll|Knolls|Lake|Lakes|Land|Landing|Lane|Ln|Light|Lights|Loaf|Lock|Locks|Lodge|Loop|Mall|Manor|Meadow|Meadows|Mews|Mill|Mills|Mission|Motorway|Mount|Mountain|Neck|Orchard|Oval|Overpass|Park|Parks|Parkway|Pass|Path|Pike|Pine|Pines|Place|Pl|Plain|Plains|Plaza|Point|Points|Port|Prairie|Radial|Ramp|Ranch|Rapid|Rapids|Rest|Ridge|River|Road|Rd|Route|Row|Run|Shoal|Shore|Shores|Skyway|Spring|Springs|Spur|Square|Squares|Sq|Station|Stravenue|Stream|Street|St|Str|Summit|Terrace|Throughway|Trace|Track|Trafficway|Trail|Tunnel|Turnpike|Underpass|Union|Valley|Viaduct|View|Village|Ville|Vista|Walk|Wall|Way|Well|Wells)\b\.?(?:(?:,?[ \t]*\n?[ \t]*|[ \t]+)(?:Apt\.|Suite|Unit|Flat)[ \t]*\d+)*(?:(?:,[ \t]*|[ \t]*\n[ \t]*)[\p{Lu}\p{N}(][^\n,?!;:]{0,40}){0,3}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex NumberedStreet();

    [GeneratedRegex(@"\b(?:P\.?O\.?[ \t]+Box|Postbox)[ \t]+\d{1,6}(?:(?:,?[ \t]*\n?[ \t]*|[ \t]+)(?:Apt\.|Suite|Unit|Flat)[ \t]*\d+)*(?:(?:,[ \t]*|[ \t]*\n[ \t]*)[\p{Lu}\p{N}(][^\n,?!;:]{0,40}){0,3}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex PostBox();

    [GeneratedRegex(@"(?i)\b(?:(?:\d{1,6}[ \t]+)?\d{1,6}[ \t]+)?(?:Rue|Via|Viale|Ul\.|út|utca|tér|tee|Piazza|Calle|Avenida|Rua|Rúa|Paseo|Plaza|Ulica|Pod|Carrer|Corso|Largo|Strada|Chemin|Boulevard|Quai|Allée|Praça|Travessa|Camino|Ronda|Passeig|Plac|Aleja|Náměstí|Ulitsa|Odos|Leoforos|Sokak|Cadde|Rruga)[ \t]+(?:\p{L}[\p{L}\p{N}'.\-]*[ \t]+){0,4}(?:\d{1,5}\b|\p{L}[\p{L}\p{N}'.\-]*)(?:(?:,?[ \t]*\n?[ \t]*|[ \t]+)(?:Apt\.|Suite|Unit|Flat)[ \t]*\d+)*(?:(?:,[ \t]*|[ \t]*\n[ \t]*)[\p{Lu}\p{N}(][^\n,?!;:]{0,40}){0,3}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex StreetPrefix();

    [GeneratedRegex(@"(?i)\b(?:(?:USNS|USNV|USS|USCGC)[ \t]+\p{L}+|(?:Unit|PSC)[ \t]+\d{4},?[ \t]+Box[ \t]+\d{4})(?:[ \t]*\n[ \t]*|,[ \t]*)[AFD]PO[ \t]+A[AEP][ \t]+\d{5}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex Military();

    [GeneratedRegex(@"\bthe corner of [^\n.?!]{3,60}? and (?:\p{L}[\p{L}\p{N}'.\-]*[ \t]?){1,3}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex Corner();

    [GeneratedRegex(@"\b(?:\d{2,6}[ \t]+)?(?:\p{L}[\p{L}\p{N}'.\-]*[ \t]+){0,3}(?<last>\p{L}[\p{L}\p{N}'.\-]*)[ \t]+\d{1,5}\b\.?(?:(?:,?[ \t]*\n?[ \t]*|[ \t]+)(?:Apt\.|Suite|Unit|Flat)[ \t]*\d+)*(?:(?:,[ \t]*|[ \t]*\n[ \t]*)[\p{Lu}\p{N}(][^\n,?!;:]{0,40}){0,3}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex NameAndNumber();

    [GeneratedRegex(@"(?:stra(?:ss|ß)e|gasse|weg|vej|v[äa]gen|gatan|gata|kuja|tie|katu|allee|platz|laan|straat|veien|vegen|utca|ulica|iela|gade|steig|ring|damm|markt|torg|stig|polku|kaari|rinne|bakken|lia|svingen|braut|stræti|gata)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex EuropeanStreetWord();

    [GeneratedRegex(@"\p{L}[\p{L}\p{N}'.\-]*", RegexOptions.CultureInvariant)]
    private static partial Regex Word();

    public static void Find(PiiSpanCollector found)
    {
        var text = found.Text;
        foreach (var regex in new[] { Military(), NumberedStreet(), PostBox(), StreetPrefix(), Corner() })
        {
            foreach (Match match in Matches(regex, text))
            {
                Add(found, text, match.Index, match.Index + match.Length);
            }
        }

        foreach (Match match in Matches(NameAndNumber(), text))
        {
            var last = match.Groups["last"].Value;
            var firstWord = Word().Match(text, match.Index, match.Groups["last"].Index + last.Length - match.Index);
            if (NameLexicon.IsCommon(last.TrimEnd('.')) || NotAddressWords.Contains(last.ToLowerInvariant())
                || !(char.IsUpper(last[0]) || EuropeanStreetWord().IsMatch(last))
                || (firstWord.Success && NotAddressWords.Contains(firstWord.Value.ToLowerInvariant())))
            {
                continue;
            }

            // "Trivo lives on Grössgstötten 50": the address starts after the last ordinary word before the street name.
            var start = match.Index;
            foreach (Match word in Word().Matches(text[..match.Groups["last"].Index], match.Index))
            {
                if (NameLexicon.IsCommon(word.Value.TrimEnd('.')) || NotAddressWords.Contains(word.Value.ToLowerInvariant()))
                {
                    start = word.Index + word.Length;
                }
            }

            while (start < match.Index + match.Length && text[start] is ' ' or '\t')
            {
                start++;
            }

            Add(found, text, start, match.Index + match.Length);
        }
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

        if (end > start)
        {
            found.TryAdd(PiiEntityTypes.StreetAddress, start, end);
        }
    }
}
