using System.Globalization;
using System.Text.RegularExpressions;

namespace DaprLlm.Inference.Tests.Infrastructure;

/// <summary>One generated answer to score: its text, and whether the model ended it (not cut by max_tokens).</summary>
public sealed record Completion(string Text, bool Ended);

/// <summary>
/// Does text read as words and sentences? Scores a set of completions against a word list from the KJV the demo model
/// was trained on (TestData/kjv-words.txt, tools/demo-model/make_word_list.py splits words the same way) and against
/// sentence shape. Limits are in <see cref="TextScores.Problems"/>.
/// </summary>
public sealed partial class TextQuality(IReadOnlySet<string> words)
{
    // A word as make_word_list.py takes it: ASCII letters, optionally a possessive 's.
    [GeneratedRegex("^[A-Za-z]+(?:'s)?$")]
    private static partial Regex WordShape();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Space();

    // Punctuation that may surround a word in the KJV; what is left must be a word.
    private static readonly char[] Surrounding = ['.', ',', ';', ':', '?', '!', '(', ')', '\'', '"'];

    public static TextQuality Load(string path) =>
        new(File.ReadLines(path).Where(l => l.Length > 0).ToHashSet(StringComparer.Ordinal));

    public TextScores Score(IReadOnlyList<Completion> completions)
    {
        int chunks = 0, known = 0, sentences = 0, capitalised = 0, clauses = 0, ended = 0, endedWithStop = 0, longestWord = 0, longestRepeat = 0;
        var distinctShares = new List<double>();
        foreach (var c in completions)
        {
            var tokens = Space().Split(c.Text.Trim()).Where(t => t.Length > 0).ToList();
            var previous = "";
            var repeat = 0;
            var distinct = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var sentenceStart = true;
            foreach (var token in tokens)
            {
                chunks++;
                var word = token.Trim(Surrounding);
                if (IsKnown(word))
                {
                    known++;
                }

                longestWord = Math.Max(longestWord, word.Count(char.IsLetter));
                distinct.Add(word);
                repeat = string.Equals(word, previous, StringComparison.OrdinalIgnoreCase) ? repeat + 1 : 1;
                longestRepeat = Math.Max(longestRepeat, repeat);
                previous = word;

                // A sentence starts the answer or follows . ? ! and should start with a capital (after ; and : the KJV goes on in lower case).
                if (sentenceStart && word.Length > 0)
                {
                    sentences++;
                    capitalised += char.IsUpper(word[0]) ? 1 : 0;
                    sentenceStart = false;
                }

                var last = token[^1];
                sentenceStart |= last is '.' or '?' or '!';
                clauses += last is '.' or ';' or ':' or '?' or '!' ? 1 : 0;
            }

            if (c.Ended)
            {
                // A KJV verse ends in . ; : ? ! or, before a quoted speech that the next verse holds, a comma ("saying,").
                ended++;
                var text = c.Text.TrimEnd();
                endedWithStop += text.Length > 0 && text[^1] is '.' or ';' or ':' or '?' or '!' or ',' ? 1 : 0;
            }

            if (tokens.Count >= 8)
            {
                distinctShares.Add((double)distinct.Count / tokens.Count);
            }
        }

        return new TextScores(
            Words: chunks,
            KnownWordShare: Share(known, chunks),
            CapitalisedSentenceShare: Share(capitalised, sentences),
            WordsPerClause: (double)chunks / Math.Max(1, clauses),
            EndedAtPunctuationShare: Share(endedWithStop, ended),
            LongestWord: longestWord,
            LongestRepeat: longestRepeat,
            LowestDistinctWordShare: distinctShares.DefaultIfEmpty(1).Min());
    }

    /// <summary>A KJV word: letters (with a possessive 's) whose lower-case form, hyphenated parts each, are in the list.</summary>
    private bool IsKnown(string word) =>
        word.Length > 0 && word.Split('-').All(part => WordShape().IsMatch(part) && words.Contains(Key(part)));

    private static string Key(string word)
    {
        var lower = word.ToLowerInvariant();
        return lower.EndsWith("'s", StringComparison.Ordinal) ? lower[..^2] : lower;
    }

    private static double Share(int part, int whole) => whole == 0 ? 0 : (double)part / whole;
}

/// <summary>What <see cref="TextQuality.Score"/> measured, and which limits it breaks.</summary>
public sealed record TextScores(
    int Words,
    double KnownWordShare,
    double CapitalisedSentenceShare,
    double WordsPerClause,
    double EndedAtPunctuationShare,
    int LongestWord,
    int LongestRepeat,
    double LowestDistinctWordShare)
{
    /// <summary>The limits a text that reads as words and sentences keeps; empty when it keeps them all.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        Check(Words >= 100, "fewer than 100 words to judge");
        Check(KnownWordShare >= 0.90, "under 90 % of the words are KJV words");
        Check(CapitalisedSentenceShare >= 0.90, "under 90 % of the sentences start with a capital");
        Check(WordsPerClause is >= 3 and <= 40, "clauses (ending in . ; : ? !) are not 3 to 40 words long on average");
        Check(EndedAtPunctuationShare >= 0.80, "under 80 % of the ended answers end at punctuation");
        Check(LongestWord <= 20, "a word is longer than 20 letters (run-together text)");
        Check(LongestRepeat <= 3, "a word repeats 4 or more times in a row");
        Check(LowestDistinctWordShare >= 0.25, "an answer of 8+ words has under 25 % distinct words (a loop)");
        return problems;

        void Check(bool ok, string problem)
        {
            if (!ok)
            {
                problems.Add(problem);
            }
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"words {Words}, known {KnownWordShare:P1}, capitalised sentences {CapitalisedSentenceShare:P1}, words/clause {WordsPerClause:F1}, " +
        $"ended at punctuation {EndedAtPunctuationShare:P1}, longest word {LongestWord}, longest repeat {LongestRepeat}, " +
        $"lowest distinct share {LowestDistinctWordShare:P1}");
}
