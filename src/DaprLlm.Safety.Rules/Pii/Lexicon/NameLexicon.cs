using System.Collections.Frozen;
using System.IO.Compression;
using System.Text;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// Word lists for telling names from other capitalised words: ~64k common English words (SCOWL, lower-case
/// entries), countries, nationalities and large cities, and the function words and titles around names.
/// </summary>
internal static class NameLexicon
{
    // Longer entries are not words anyone capitalises in a sentence; the bound keeps lookups on the stack.
    private const int MaxWordLength = 64;

    private const string CommonList = "DaprLlm.Safety.Rules.english-words.txt.gz";
    private const string PlaceList = "DaprLlm.Safety.Rules.places.txt";
    private const string PeopleList = "DaprLlm.Safety.Rules.people-names.txt.gz";

    private static readonly Lazy<FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>>> Common = new(() => Load(CommonList));
    private static readonly Lazy<FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>>> Places = new(() => Load(PlaceList));
    private static readonly Lazy<FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>>> People = new(() => Load(PeopleList));

    // Every list in one table, for ASCII words (nearly all): one lower-casing and one lookup per word instead of one
    // per list. Exact for ASCII, where OrdinalIgnoreCase (the stop and title lists) and lower-casing agree; other
    // words go to the lists one by one (ClassifyEachList).
    private static readonly Lazy<AsciiWordTable> Classes = new(BuildClasses);

    public static FrozenSet<string> Titles { get; } = FrozenSet.ToFrozenSet(
        ["mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam", "dear", "mx"], StringComparer.OrdinalIgnoreCase);

    public static FrozenSet<string> Stop { get; } = FrozenSet.ToFrozenSet(
    [
        "i", "the", "a", "an", "my", "your", "please", "hello", "hi", "hey", "thanks", "thank", "can", "could", "would", "what", "how",
        "when", "where", "who", "why", "is", "are", "was", "user", "bot", "agent", "customer", "name", "address", "street", "card",
        "credit", "email", "phone", "account", "yes", "no", "ok", "okay", "from", "to", "at", "on", "in", "of", "and", "or", "for",
        "with", "by", "this", "that", "it", "he", "she", "they", "we", "you", "his", "her", "their", "our", "its", "let", "do", "does",
        "did", "have", "has", "had", "be", "been", "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "apt", "suite", "unit", "iban", "ssn", "zip", "inc", "ltd", "llc", "gmbh", "corp", "co",
    ], StringComparer.OrdinalIgnoreCase);

    /// <summary>True for an ordinary English word (compared in lower case).</summary>
    public static bool IsCommon(string word) => IsCommon(word.AsSpan());

    public static bool IsCommon(ReadOnlySpan<char> word) =>
        Ascii.IsValid(word) ? (Classify(word) & WordClass.Common) != 0 : ContainsLower(Common.Value, word);

    public static bool IsPlace(string word) => IsPlace(word.AsSpan());

    public static bool IsPlace(ReadOnlySpan<char> word) =>
        Ascii.IsValid(word) ? (Classify(word) & WordClass.Place) != 0 : ContainsLower(Places.Value, word);

    /// <summary>True for a given name or surname in the people-names gazetteer (cspell's list, many cultures).</summary>
    public static bool IsKnownName(ReadOnlySpan<char> word) =>
        Ascii.IsValid(word) ? (Classify(word) & WordClass.Name) != 0 : ContainsLower(People.Value, word);

    public static bool IsStop(ReadOnlySpan<char> word) => StopLookup.Contains(word);

    public static bool IsTitle(ReadOnlySpan<char> word) => TitleLookup.Contains(word);

    /// <summary>Every list the word is on (common words, places and names compared in lower case, stop words and titles ignoring case).</summary>
    public static WordClass Classify(ReadOnlySpan<char> word)
    {
        if (word.Length > MaxWordLength)
        {
            return WordClass.None; // longer than any entry of any list
        }

        if (!Ascii.IsValid(word))
        {
            return ClassifyEachList(word);
        }

        // Compared in lower case without a lower-cased copy; Ascii.ToLower would map exactly the same chars.
        return Classes.Value.TryGetValue(word, out var classes) ? classes : WordClass.None;
    }

    private static WordClass ClassifyEachList(ReadOnlySpan<char> word) =>
        (ContainsLower(Common.Value, word) ? WordClass.Common : WordClass.None)
        | (ContainsLower(Places.Value, word) ? WordClass.Place : WordClass.None)
        | (ContainsLower(People.Value, word) ? WordClass.Name : WordClass.None)
        | (IsStop(word) ? WordClass.Stop : WordClass.None)
        | (IsTitle(word) ? WordClass.Title : WordClass.None);

    // Span lookups built once: the recognizers ask per capitalised word of every prompt.
    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> StopLookup = Stop.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> TitleLookup = Titles.GetAlternateLookup<ReadOnlySpan<char>>();

    // Lower-cases into a stack buffer: the lookup runs per capitalised word of every prompt, so no string per word.
    private static bool ContainsLower(FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> set, ReadOnlySpan<char> word)
    {
        if (word.Length > MaxWordLength)
        {
            return false;
        }

        Span<char> lower = stackalloc char[word.Length];
        word.ToLowerInvariant(lower);
        return set.Contains(lower);
    }

    private static FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> Load(string resource) =>
        ReadList(resource).ToFrozenSet(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    private static AsciiWordTable BuildClasses()
    {
        var classes = new Dictionary<string, WordClass>(StringComparer.Ordinal);
        Add(ReadList(CommonList), WordClass.Common);
        Add(ReadList(PlaceList), WordClass.Place);
        Add(ReadList(PeopleList), WordClass.Name);
        Add(Stop.Select(static w => w.ToLowerInvariant()), WordClass.Stop);
        Add(Titles.Select(static w => w.ToLowerInvariant()), WordClass.Title);
        return new AsciiWordTable(classes);

        void Add(IEnumerable<string> words, WordClass wordClass)
        {
            foreach (var word in words)
            {
                classes[word] = classes.GetValueOrDefault(word) | wordClass;
            }
        }
    }

    private static List<string> ReadList(string resource)
    {
        using var stream = typeof(NameLexicon).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded word list {resource} is missing");
        using var source = resource.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(stream, CompressionMode.Decompress) : stream;
        using var reader = new StreamReader(source);
        var words = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                words.Add(line.Trim().ToLowerInvariant());
            }
        }

        return [.. words.Where(w => w.Length <= MaxWordLength)];
    }
}
