using System.Collections.Frozen;
using System.IO.Compression;

namespace DaprLlm.Safety.Rules;

/// <summary>
/// Word lists for telling names from other capitalised words: ~64k common English words (SCOWL, lower-case
/// entries), countries, nationalities and large cities, and the function words and titles around names.
/// </summary>
internal static class NameLexicon
{
    private static readonly Lazy<FrozenSet<string>> Common = new(() => Load("DaprLlm.Safety.Rules.english-words.txt.gz", gzip: true));
    private static readonly Lazy<FrozenSet<string>> Places = new(() => Load("DaprLlm.Safety.Rules.places.txt", gzip: false));

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
    public static bool IsCommon(string word) => Common.Value.Contains(word.ToLowerInvariant());

    public static bool IsPlace(string word) => Places.Value.Contains(word.ToLowerInvariant());

    private static FrozenSet<string> Load(string resource, bool gzip)
    {
        using var stream = typeof(NameLexicon).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded word list {resource} is missing");
        using var source = gzip ? new GZipStream(stream, CompressionMode.Decompress) : stream;
        using var reader = new StreamReader(source);
        var words = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                words.Add(line.Trim().ToLowerInvariant());
            }
        }

        return words.ToFrozenSet(StringComparer.Ordinal);
    }
}
